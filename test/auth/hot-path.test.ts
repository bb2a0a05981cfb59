// Issue #26: what the CPU work removed from the per-call path of required auth and of
// the relay must not come back, and must not change what the audit log holds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/auth/audit-log.js';
import { verifyAuditLog } from '../../src/auth/audit-verify.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenPrincipal } from '../../src/auth/principal.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub } from '../../src/index.js';
import { ItemFactory } from '../../src/stream/item-factory.js';
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
