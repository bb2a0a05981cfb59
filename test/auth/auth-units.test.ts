import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuditLog, headFileOf } from '../../src/auth/audit-log.js';
import { verifyAuditLog } from '../../src/auth/audit-verify.js';
import { grantCovers, parseGrant, patternMatches, patternReachesBelow } from '../../src/auth/grants.js';
import { TokenPrincipal } from '../../src/auth/principal.js';
import { FailedAuthLimiter } from '../../src/auth/rate-limit.js';
import { redact } from '../../src/auth/redact.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { defineActivation, DynamicHub, method } from '../../src/index.js';
import { Vault } from '../fixtures/guarded.js';
import { HUB_BIN } from '../support/repo.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'plexus-auth-'));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('grant patterns', () => {
  it('* matches exactly one segment, ** any number including none', () => {
    assert.ok(patternMatches('arbor.*', 'arbor.tree_get'));
    assert.ok(!patternMatches('arbor.*', 'arbor.tree.get'));
    assert.ok(!patternMatches('arbor.*', 'arbor'));
    assert.ok(patternMatches('arbor.**', 'arbor.tree.get'));
    assert.ok(patternMatches('arbor.**', 'arbor.get'));
    assert.ok(patternMatches('**', 'solar.earth.luna.info'));
    assert.ok(patternMatches('*.info', 'solar.info'));
    assert.ok(!patternMatches('*.info', 'solar.earth.info'));
    assert.ok(patternMatches('solar.**.info', 'solar.info'));
    assert.ok(patternMatches('solar.**.info', 'solar.earth.luna.info'));
    assert.ok(!patternMatches('solar.**.info', 'solar.earth.luna.observe'));
    assert.ok(!patternMatches('arbor.*', 'arborx.get'));
    assert.ok(patternMatches('echo.echo', 'echo.echo'));
  });

  it('reachesBelow tells whether an activation can hold anything a pattern covers', () => {
    assert.ok(patternReachesBelow('solar.earth.*', 'solar'));
    assert.ok(patternReachesBelow('solar.earth.*', 'solar.earth'));
    assert.ok(!patternReachesBelow('solar.earth.*', 'solar.earth.luna'));
    assert.ok(!patternReachesBelow('solar.earth.*', 'echo'));
    assert.ok(patternReachesBelow('**', 'anything.at.all'));
    assert.ok(patternReachesBelow('*.info', 'solar'));
    assert.ok(!patternReachesBelow('*.info', 'solar.earth'));
    assert.ok(patternReachesBelow('a.**.z', 'a.b.c'));
    assert.ok(patternReachesBelow('x.y', ''));
  });

  it('execute is only granted by naming the path; no wildcard stands for it', () => {
    const exact = parseGrant('bash.execute:execute');
    assert.ok(grantCovers(exact, 'bash.execute', 'execute'));
    assert.ok(!grantCovers(exact, 'bash.other', 'execute'));
    // A hand-edited store could contain these: they still never cover execute.
    for (const pattern of ['**', 'bash.*', 'bash.**', '*.execute', '*.*']) {
      const g = { pattern, verbs: ['read', 'write', 'execute'] as const };
      assert.ok(!grantCovers(g, 'bash.execute', 'execute'), pattern);
      assert.ok(grantCovers(g, 'bash.execute', 'read'), pattern);
    }
    assert.throws(() => parseGrant('bash.*:execute'), /execute can only be granted on a path without wildcards/);
    assert.throws(() => parseGrant('**:read,execute'), /without wildcards/);
  });

  it('parses verbs and options, refuses nonsense with a specific message', () => {
    assert.deepEqual(parseGrant('arbor.*:read,write'), { pattern: 'arbor.*', verbs: ['read', 'write'] });
    assert.deepEqual(parseGrant('echo.echo'), { pattern: 'echo.echo', verbs: ['read'] });
    assert.deepEqual(parseGrant('x.y:write:once'), { pattern: 'x.y', verbs: ['write'], once: true });
    assert.equal(parseGrant('x.y:read:ttl=1h', 1000).expiresAt, 1000 + 3_600_000);
    assert.throws(() => parseGrant('arbor.*:delete'), /unknown verb "delete"/);
    assert.throws(() => parseGrant('Arbor.*'), /segment "Arbor"/);
    assert.throws(() => parseGrant('a..b'), /segment ""/);
    assert.throws(() => parseGrant('a.b:read:forever'), /unknown option "forever"/);
  });
});

describe('token store', () => {
  it('stores only the SHA-256, checks every refusal reason, and leaves no temp files', () => {
    const dir = tmp();
    const store = new TokenStore(dir);
    const { token, record } = store.create({ name: 'ci', hub: 'plexus', grants: [parseGrant('echo.*')] });
    assert.match(token, /^phub_[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(store.file, 'utf8');
    assert.ok(!text.includes(token), 'the token itself is not on disk');
    assert.ok(text.includes(record.sha256));
    assert.deepEqual(readdirSync(dir).sort(), ['tokens.json']);
    assert.equal(store.check(token, 'plexus').ok, true);
    assert.deepEqual(store.check(`${token}x`, 'plexus'), { ok: false, reason: 'unknown' });
    assert.deepEqual(store.check(token, 'otherhub'), { ok: false, reason: 'other_hub' });
    const short = store.create({ name: 'tmp', hub: 'plexus', grants: [], ttlMs: 1000, now: 0 });
    assert.deepEqual(store.check(short.token, 'plexus', 5000), { ok: false, reason: 'expired' });
    assert.equal(store.revoke('ci').length, 1);
    assert.deepEqual(store.check(token, 'plexus'), { ok: false, reason: 'revoked' });
  });

  it('a running store sees a revocation made by another process (the CLI) within its refresh interval', async () => {
    const dir = tmp();
    const server = new TokenStore(dir);
    const { token } = server.create({ name: 'ci', hub: 'plexus', grants: [parseGrant('**')] });
    assert.equal(server.check(token, 'plexus').ok, true);
    new TokenStore(dir).revoke('ci');
    await wait(250); // the refresh interval (200 ms) has passed: that is what is tested
    assert.deepEqual(server.check(token, 'plexus'), { ok: false, reason: 'revoked' });
  });

  it('refuses a hand-edited store that does not make sense', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'tokens.json'),
      JSON.stringify({ version: 1, tokens: [{ id: 't', name: 'n', hub: 'plexus', sha256: 'zz', grants: [] }] }),
    );
    assert.throws(() => new TokenStore(dir), /sha256 must be 64 hex digits/);
  });
});

describe('principals', () => {
  it('a token principal follows its grants, its once grants and revocation, live', async () => {
    const dir = tmp();
    const store = new TokenStore(dir);
    const { record } = store.create({
      name: 'ci',
      hub: 'plexus',
      grants: [parseGrant('echo.*:read'), parseGrant('solar.**:read'), parseGrant('bash.execute:execute:once')],
    });
    const p = new TokenPrincipal(store, record);
    assert.equal(p.unauthenticated(), undefined);
    assert.ok(p.allows('echo.echo', ['read']));
    assert.ok(!p.allows('echo.echo', ['write']));
    assert.ok(!p.allows('echo.echo', ['read', 'write']));
    assert.ok(p.allows('solar.earth.luna.info', ['read']));
    assert.ok(!p.allows('arbor.tree_get', ['read']));
    assert.ok(p.reaches('solar.earth'));
    assert.ok(!p.reaches('arbor'));
    assert.ok(p.allows('bash.execute', ['execute']));
    assert.ok(p.use('bash.execute', ['execute']), 'first use spends the grant');
    assert.ok(!p.allows('bash.execute', ['execute']), 'a spent once grant allows nothing');
    assert.ok(!p.use('bash.execute', ['execute']));
    assert.ok(p.use('echo.echo', ['read']), 'standing grants are not spent');
    assert.ok(p.use('echo.echo', ['read']));
    new TokenStore(dir).revoke(record.id);
    await wait(250); // past the store's refresh interval (200 ms)
    assert.match(p.unauthenticated()!, /revoked/);
    assert.ok(!p.allows('echo.echo', ['read']));
  });
});

describe('redaction', () => {
  it('redacts by key name at any depth, truncates long values, keeps __proto__ as data', () => {
    const out = redact({
      message: 'hi',
      password: 'hunter2',
      nested: { deeper: [{ api_key: 'k', Authorization: 'Bearer x', keep: 1 }] },
      long: 'x'.repeat(1000),
      list: Array.from({ length: 40 }, (_, i) => i),
      ['__proto__']: { polluted: true },
    }) as Record<string, unknown>;
    const text = JSON.stringify(out);
    assert.ok(!text.includes('hunter2') && !text.includes('Bearer x') && !text.includes('"k"'), text);
    assert.equal((out.nested as { deeper: Record<string, unknown>[] }).deeper[0]!.keep, 1);
    assert.match(out.long as string, /^x{256}…\(\+744 chars\)$/);
    assert.equal((out.list as unknown[]).length, 33);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(out), Object.keys(out).sort(), 'keys come out sorted');
  });
});

describe('audit log', () => {
  const event = (path: string) => ({ event: 'call' as const, principal: 'ci', path, outcome: 'ok' as const, items: 1 });

  it('chains records, continues the chain after a restart, and verifies', async () => {
    const file = join(tmp(), 'audit.jsonl');
    let log = new AuditLog(file);
    assert.equal(log.append(event('echo.echo')), 1);
    assert.equal(log.append(event('echo.once')), 2);
    log.close();
    log = new AuditLog(file);
    assert.equal(log.append(event('solar.info')), 3);
    log.close();
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.seq),
      [1, 2, 3],
    );
    assert.equal(lines[1].prev, lines[0].hash);
    assert.equal(lines[2].prev, lines[1].hash);
    assert.deepEqual(await verifyAuditLog(file), { ok: true, records: 3, lastHash: lines[2].hash });
  });

  async function tampered(change: (lines: string[]) => string[]) {
    const file = join(tmp(), 'audit.jsonl');
    const log = new AuditLog(file);
    for (let i = 0; i < 5; i++) log.append(event(`echo.m${i}`));
    log.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, `${change(lines).join('\n')}\n`);
    return verifyAuditLog(file);
  }

  it('an edited line fails verification at that line', async () => {
    const v = await tampered((l) => l.map((x, i) => (i === 2 ? x.replace('"outcome":"ok"', '"outcome":"denied"') : x)));
    assert.deepEqual([v.ok, !v.ok && v.line], [false, 3]);
    assert.match(!v.ok ? v.reason : '', /edited/);
  });

  it('a removed line fails at the line after the gap', async () => {
    const v = await tampered((l) => l.filter((_, i) => i !== 1));
    assert.deepEqual([v.ok, !v.ok && v.line], [false, 2]);
  });

  it('reordered lines fail at the first out-of-place line', async () => {
    const v = await tampered((l) => [l[0]!, l[2]!, l[1]!, l[3]!, l[4]!]);
    assert.deepEqual([v.ok, !v.ok && v.line], [false, 2]);
  });

  it('a cut tail fails against the head file; a removed first line fails at line 1', async () => {
    const cut = await tampered((l) => l.slice(0, 3));
    assert.equal(cut.ok, false);
    assert.match(!cut.ok ? cut.reason : '', /removed from the end/);
    const first = await tampered((l) => l.slice(1));
    assert.deepEqual([first.ok, !first.ok && first.line], [false, 1]);
  });

  it('hub audit verify exits 1 and names the first bad line; 0 on an intact log', async () => {
    const dir = tmp();
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file);
    for (let i = 0; i < 4; i++) log.append(event(`echo.m${i}`));
    log.close();
    const hubBin = HUB_BIN;
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [hubBin, ...args]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const good = await run(['audit', 'verify', '--data-dir', dir]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^ok: 4 records, chain intact/);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, `${[lines[0], lines[1], lines[2]!.replace('echo.m2', 'echo.mX'), lines[3]].join('\n')}\n`);
    const bad = await run(['audit', 'verify', '--file', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /line 3: hash does not match the record \(the line was edited\) \(2 records verified before it\)/);
    assert.ok(readFileSync(headFileOf(file), 'utf8').includes('"seq":4'));
  });
});

describe('failed-auth limiter', () => {
  it('allows a burst of failures per address, then throttles that address only, then recovers', () => {
    const limiter = new FailedAuthLimiter({ burst: 3, refillMs: 1000 });
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfter('a', 0), 0);
      limiter.fail('a', 0);
    }
    assert.equal(limiter.retryAfter('a', 0), 1000);
    assert.equal(limiter.retryAfter('b', 0), 0);
    assert.equal(limiter.retryAfter('a', 1000), 0);
  });
});

describe('verbs on methods', () => {
  it('@method({ verbs }) and dynamic methods carry verbs into MethodInfo; unknown verbs are refused', async () => {
    const hub = new DynamicHub().register(
      new Vault(),
      defineActivation({ namespace: 'sh', methods: { run: { verbs: ['execute'], handler: () => 1 } } }),
    );
    await hub.ready();
    const vault = hub.children().find((c) => c.namespace === 'vault')!;
    assert.deepEqual(
      vault.methods().map((m) => [m.name, m.verbs]),
      [
        ['peek', undefined],
        ['put', ['write']],
        ['whoami', undefined],
      ],
    );
    assert.deepEqual(
      hub
        .children()
        .find((c) => c.namespace === 'sh')!
        .methods()[0]!.verbs,
      ['execute'],
    );
    assert.throws(() => method({ verbs: ['delete' as 'read'] })({}, 'x'), /unknown verb "delete"/);
    assert.throws(() => defineActivation({ namespace: 'z', methods: { m: { verbs: [], handler: () => 1 } } }), /at least one/);
  });
});
