// Issue #26: what the CPU work removed from the per-call path of required auth and of
// the relay must not come back, and must not change what the audit log holds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/auth/audit-log.js';
import { verifyAuditLog } from '../../src/auth/audit-verify.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenPrincipal } from '../../src/auth/principal.js';
import { RevocationWatch } from '../../src/auth/revocation.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub } from '../../src/index.js';
import { redact } from '../../src/auth/redact.js';
import { ItemFactory } from '../../src/stream/item-factory.js';
import { itemJson } from '../../src/wire/jsonrpc.js';
import { Echo } from '../../activations/echo.js';
import { eventually } from '../support/helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'plexus-hot-path-'));

describe('required auth, per call', () => {
  it('starts the revocation timer once for many short calls, not once per call, and stops it when calls are idle', async () => {
    const dataDir = tmp();
    const store = new TokenStore(dataDir);
    const { record } = store.create({ name: 'ci', hub: 'plexus', grants: [parseGrant('echo.*:read')] });
    const auth = new HubAuth({ hub: 'plexus', dataDir, revocationCheckMs: 20 });
    const hub = new DynamicHub('plexus', { policy: auth }).register(new Echo());
    const real = { set: globalThis.setInterval, clear: globalThis.clearInterval };
    let started = 0;
    let cleared = 0;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => (started++, real.set(...args))) as typeof setInterval;
    globalThis.clearInterval = ((t?: Parameters<typeof clearInterval>[0]) => (cleared++, real.clear(t))) as typeof clearInterval;
    try {
      const caller = new TokenPrincipal(store, record, 'test', 'test');
      for (let i = 0; i < 200; i++) {
        const items = [];
        for await (const item of hub.call('echo.once', { message: `m${i}` }, { principal: caller })) items.push(item);
        assert.equal(items.at(-1)?.type, 'done');
      }
      assert.equal(started, 1, 'one interval for 200 sequential calls');
      assert.equal(auth.revocations!.size, 0);
      // The next check finds nothing running and stops the timer.
      await eventually(() => cleared >= 1);
    } finally {
      globalThis.setInterval = real.set;
      globalThis.clearInterval = real.clear;
      auth.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the revocation watch, per call', () => {
  it('links and unlinks calls in any order (twice is harmless) and aborts exactly the calls still running', () => {
    const dataDir = tmp();
    try {
      const store = new TokenStore(dataDir);
      const { record } = store.create({ name: 'ci', hub: 'plexus', grants: [parseGrant('echo.*:read')] });
      const caller = new TokenPrincipal(store, record, 'test');
      const watch = new RevocationWatch('plexus', 60_000);
      const aborted: string[] = [];
      const call = (path: string) => ({
        principal: caller,
        path,
        params: {},
        method: () => undefined,
        abort: () => void aborted.push(path),
      });
      const entries = ['a', 'b', 'c', 'd', 'e'].map((p) => watch.watch(caller, call(`echo.${p}`)));
      assert.equal(watch.size, 5);
      for (const i of [2, 0, 4, 2]) watch.unwatch(caller, entries[i]!); // middle, first, last, middle again
      assert.equal(watch.size, 2);
      store.revoke(record.id);
      store.refresh(Date.now() + 60_000);
      watch.check();
      assert.deepEqual(aborted.sort(), ['echo.b', 'echo.d']);
      for (const e of entries) watch.unwatch(caller, e);
      assert.equal(watch.size, 0);
      watch.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('audit records travel to the writer as lines', () => {
  it('keeps the chain verifiable for params holding newlines, line separators, integer-like keys and non-finite numbers', async () => {
    const dir = tmp();
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file);
    const params = [
      { text: 'two\nlines\r\nand\u2028separators\u2029' },
      { 10: 'a', 2: 'b', x: '\n' },
      { n: Number.NaN, inf: Number.POSITIVE_INFINITY },
      { nested: { '0': ['\n', { '1': 1 }] } },
    ];
    try {
      for (const p of params) log.append({ event: 'call', principal: 'ci', path: 'echo.once', outcome: 'ok', params: p });
      log.close();
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, params.length, 'one line per record, whatever the params hold');
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { params: unknown }).params),
        JSON.parse(JSON.stringify(params)),
      );
      const verdict = await verifyAuditLog(file);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.equal(verdict.records, params.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('audit batches travel to the writer as UTF-8 bytes', () => {
  it('chains records across many batches, multi-byte text, and a record bigger than the batch buffer, byte for byte', async () => {
    const dir = tmp();
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file);
    const huge = 'é😀x'.repeat(120_000); // ~1 MB of UTF-8 in one record: the batch buffer (256 KiB) grows for it
    const sent: unknown[] = [];
    try {
      for (let i = 0; i < 1500; i++) {
        // Sorted keys, as redact() gives them (append takes redacted params).
        const params = i === 700 ? { text: huge } : { n: i, text: `${i} ü 中文 😀 \u2028 "q"` };
        sent.push(params);
        log.append({ event: 'call', principal: 'ci', path: 'echo.once', outcome: 'ok', params });
        if (i % 400 === 0) log.flush();
      }
      log.close();
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, sent.length);
      lines.forEach((line, i) => {
        const { hash, prev, ...body } = JSON.parse(line) as Record<string, unknown>;
        assert.equal(line, `{"hash":"${hash}","prev":"${prev}",${canonicalize(body)!.slice(1)}`);
        assert.deepEqual(body.params, sent[i]);
        assert.equal(body.seq, i + 1);
      });
      const verdict = await verifyAuditLog(file);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.equal(verdict.records, sent.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('items relayed from below a mount', () => {
  it('share one factory (and metadata object) per provenance path instead of one per call', () => {
    const factory = new ItemFactory(['hub', 'b'], 'hub.b.echo.once', () => '0123456789abcdef');
    const first = factory.below(['inner']);
    const second = factory.below(['inner']);
    assert.equal(first, second);
    assert.equal(first.data(1).metadata, second.done().metadata);
    assert.deepEqual(first.data(1).metadata.provenance, ['hub', 'b', 'inner']);
    assert.notEqual(factory.below(['other']), first);
    assert.equal(factory.below([]), factory);
  });
});

describe("a call's audit record, written as canonical text from per-caller parts", () => {
  const tricky: Record<string, unknown>[] = [
    { message: 'plain' },
    { message: 'two\nlines\r\n\ttab "quotes" \\ back\u2028\u2029 é ü 中文 😀' },
    { message: 'Authorization: Bearer abcdefgh12345678 and sk-abcdefghijklmnopqrstuv' },
    { message: 'x', token: 'hunter2', nested: { password: 'p', list: ['ghp_abcdefghijklmnopqrstuvwxyz0123'] } },
    { 10: 'a', 2: 'b', message: 'integer-like keys' },
    { message: 'y', env: { HOME: '/root', SECRET: 's' }, z: null, b: true, n: 1.5e-7 },
    { zeta: 1, alpha: 2, message: 'unsorted keys' },
  ];

  it('holds exactly the canonical record of each call, chained and verifiable, for hostile params, errors, a caller without an address and an unknown method', async () => {
    const dataDir = tmp();
    const store = new TokenStore(dataDir);
    const { record } = store.create({ name: 'ci', hub: 'plexus', grants: [parseGrant('echo.*:read')] });
    const auth = new HubAuth({ hub: 'plexus', dataDir });
    const hub = new DynamicHub('plexus', { policy: auth }).register(new Echo());
    const withAddress = new TokenPrincipal(store, record, 'ws', '127.0.0.1');
    const noAddress = new TokenPrincipal(store, record, 'stdio');
    const expected: Record<string, unknown>[] = [];
    try {
      for (const caller of [withAddress, noAddress]) {
        for (const params of tricky) {
          // Extra params fail validation: those calls end in an error item (outcome and code recorded).
          const items = [];
          for await (const item of hub.call('echo.once', params, { principal: caller })) items.push(item);
          const failed = items.some((i) => i.type === 'error');
          expected.push({
            event: 'call',
            principal: 'ci',
            token_id: record.id,
            transport: caller.transport,
            ...(caller.remote ? { remote: caller.remote } : {}),
            path: 'echo.once',
            verbs: ['read'],
            outcome: failed ? 'error' : 'ok',
            items: failed ? 0 : 1,
            ...(failed ? { code: -32602 } : {}),
            params: redact(params),
          });
          const done = items.at(-1)!;
          assert.equal(done.type, 'done');
          assert.equal(typeof done.metadata.audit_id, 'number');
        }
      }
      for await (const _ of hub.call('echo.nope', {}, { principal: withAddress }));
      expected.push({
        event: 'call',
        principal: 'ci',
        token_id: record.id,
        transport: 'ws',
        remote: '127.0.0.1',
        path: 'echo.nope',
        outcome: 'error',
        items: 0,
        code: -32601,
        params: {},
      });
    } finally {
      auth.close();
    }
    try {
      const file = join(dataDir, 'audit.jsonl');
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, expected.length);
      lines.forEach((line, i) => {
        const { hash, prev, seq, time, duration_ms, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const { hash: _h, prev: _p, ...body } = JSON.parse(line) as Record<string, unknown>;
        // Byte for byte the canonical (RFC 8785) form, after the chain's two members.
        assert.equal(line, `{"hash":"${hash}","prev":"${prev}",${canonicalize(body)!.slice(1)}`);
        assert.equal(typeof seq, 'number');
        assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.equal(typeof duration_ms, 'number');
        assert.deepEqual(rest, JSON.parse(JSON.stringify(expected[i])), `record ${i + 1}`);
      });
      const verdict = await verifyAuditLog(file);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.equal(verdict.records, expected.length);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the done item with its audit id serialises exactly as JSON.stringify does', () => {
    const factory = new ItemFactory(['echo', 'x"y\u2028'], 'echo.once', () => '0123456789abcdef');
    for (const extra of [
      { audit_id: 1 },
      { audit_id: 9_007_199_254_740_991 },
      { audit_id: 3, other: 'z' },
      { provenance: ['over'], audit_id: 4 },
    ]) {
      const done = factory.done(extra);
      assert.deepEqual(done, { type: 'done', metadata: { ...factory.done().metadata, ...extra } });
      assert.equal(itemJson(done), JSON.stringify(done));
    }
    // A metadata object in another key order, or with odd values, is serialised by JSON.stringify itself.
    const odd = { type: 'done', metadata: { audit_id: 2, provenance: ['a'], plexus_hash: 'h', timestamp: 1 } } as const;
    assert.equal(itemJson(odd as never), JSON.stringify(odd));
    const nan = { type: 'done', metadata: { provenance: ['a'], plexus_hash: 'h', timestamp: Number.NaN, audit_id: 5 } } as const;
    assert.equal(itemJson(nan as never), JSON.stringify(nan));
  });
});

describe('the guard seam, per call', () => {
  it('asks with the same checks as ever (shapes, prefixes, final hop) while sharing prefixes across calls', async () => {
    const seen: Record<string, unknown>[] = [];
    const hub = new DynamicHub('plexus', {
      guard: (check) => {
        seen.push({ keys: Object.keys(check), at: [...check.at], final: check.final, method: check.method?.name, params: check.params });
      },
    }).register(new Echo());
    for (let i = 0; i < 2; i++) for await (const _ of hub.call('echo.once', { message: `m${i}` }));
    for await (const _ of hub.call('echo.nope', {}));
    const call = (message: string) => [
      { keys: ['principal', 'node', 'at', 'path', 'final'], at: [], final: false, method: undefined, params: undefined },
      {
        keys: ['principal', 'node', 'at', 'path', 'final', 'method', 'params', 'call'],
        at: ['echo'],
        final: true,
        method: 'once',
        params: { message },
      },
    ];
    assert.deepEqual(seen, [
      ...call('m0'),
      ...call('m1'),
      { keys: ['principal', 'node', 'at', 'path', 'final'], at: [], final: false, method: undefined, params: undefined },
      { keys: ['principal', 'node', 'at', 'path', 'final', 'params', 'call'], at: ['echo'], final: true, method: undefined, params: {} },
    ]);
  });
});
