// Issue 28 §1: the enrollment store on its own: the codes' form, one token from racing
// redemptions in several processes (the file lock, not the event loop, decides), the
// rules for names and pending codes, and what an open hub answers.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { EnrollmentStore, ENROLLMENT_CODE_BITS, normalizeEnrollmentCode } from '../../src/auth/enrollment.js';
import { ENROLLMENT_REFUSED, HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { enrollHandler } from '../../src/transport/enroll.js';
import { DynamicHub, serveMcpHttp } from '../../src/index.js';
import { ensureBuilt } from '../support/built.js';
import { RawClient } from '../support/raw-client.js';
import { REPO_ROOT } from '../support/repo.js';

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'plexus-enroll-store-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stores(dir: string): { tokens: TokenStore; enrollments: EnrollmentStore } {
  const tokens = new TokenStore(dir);
  tokens.init();
  return { tokens, enrollments: new EnrollmentStore(dir, tokens) };
}

describe('enrollment codes', () => {
  it('are three groups of four Crockford base32 symbols: 60 bits, distinct, forgiving when typed', () => {
    assert.equal(ENROLLMENT_CODE_BITS, 60);
    const { enrollments } = stores(freshDir());
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const { code } = enrollments.create({ agent: `a${i}`, hub: 'plexus', grants: [] });
      assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
      seen.add(code);
    }
    assert.equal(seen.size, 50);
    assert.equal(normalizeEnrollmentCode('abcd-efgh-jkmn'), 'ABCDEFGHJKMN');
    assert.equal(normalizeEnrollmentCode(' o0il 1234 5678 '), '001112345678');
    assert.equal(normalizeEnrollmentCode('ABCD-EFGH-JKMU'), undefined); // U is not a symbol
    assert.equal(normalizeEnrollmentCode('ABCD-EFGH'), undefined);
    assert.equal(normalizeEnrollmentCode('x'.repeat(10_000)), undefined);
  });

  it('one use; expired, revoked and other hubs refused; a name has one live agent', () => {
    const { tokens, enrollments } = stores(freshDir());
    const t0 = Date.now();
    const { code } = enrollments.create({ agent: 'bot', hub: 'plexus', grants: [{ pattern: 'echo.*', verbs: ['read'] }], now: t0 });
    assert.throws(() => enrollments.create({ agent: 'bot', hub: 'plexus', grants: [] }), /pending enrollment code/);
    assert.deepEqual(enrollments.redeem(code, 'other'), { ok: false, reason: 'other_hub', agent: 'bot' });
    const first = enrollments.redeem(code.toLowerCase(), 'plexus');
    assert.ok(first.ok);
    assert.equal(first.record.agent, 'bot');
    assert.equal(first.enrollment.tokenId, first.record.id);
    assert.deepEqual(tokens.check(first.token, 'plexus').ok, true);
    assert.deepEqual(enrollments.redeem(code, 'plexus'), { ok: false, reason: 'spent', agent: 'bot' });
    assert.throws(() => enrollments.create({ agent: 'bot', hub: 'plexus', grants: [] }), /already enrolled/);

    const late = enrollments.create({ agent: 'late', hub: 'plexus', grants: [], ttlMs: 1000, now: t0 });
    assert.deepEqual(enrollments.redeem(late.code, 'plexus', t0 + 1000), { ok: false, reason: 'expired', agent: 'late' });
    const gone = enrollments.create({ agent: 'gone', hub: 'plexus', grants: [] });
    assert.equal(enrollments.revoke('gone').length, 1);
    assert.deepEqual(enrollments.redeem(gone.code, 'plexus'), { ok: false, reason: 'revoked', agent: 'gone' });
    // Once revoked (code and token), a name may be enrolled again.
    tokens.revoke(first.record.id);
    assert.ok(enrollments.create({ agent: 'bot', hub: 'plexus', grants: [] }).code);
    assert.throws(() => enrollments.create({ agent: '../etc', hub: 'plexus', grants: [] }), /Invalid agent name/);
    assert.deepEqual(enrollments.redeem('ZZZZ-ZZZZ-ZZZZ', 'plexus'), { ok: false, reason: 'unknown' });
  });

  it('redemptions racing in separate processes give exactly one token', async () => {
    ensureBuilt();
    const dir = freshDir();
    const { tokens, enrollments } = stores(dir);
    const { code } = enrollments.create({ agent: 'racer', hub: 'plexus', grants: [] });
    const entry = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'auth', 'index.js')).href;
    // Each process loads first, then waits for the same instant, so the redemptions overlap.
    const at = Date.now() + 1500;
    const script = `
      import { EnrollmentStore, TokenStore } from ${JSON.stringify(entry)};
      const [dir, code, at] = process.argv.slice(1);
      const store = new EnrollmentStore(dir, new TokenStore(dir));
      while (Date.now() < Number(at));
      const r = store.redeem(code, 'plexus');
      process.stdout.write(r.ok ? 'ok' : r.reason);
    `;
    const run = () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, dir, code, String(at)]);
    const results = (await Promise.all(Array.from({ length: 5 }, run))).map((r) => r.stdout);
    assert.deepEqual(results.filter((r) => r === 'ok').length, 1, results.join(','));
    assert.ok(
      results.filter((r) => r !== 'ok').every((r) => r === 'spent'),
      results.join(','),
    );
    assert.equal(tokens.records().filter((t) => t.agent === 'racer').length, 1);
  });

  it('hub mcp --http (serveMcpHttp) takes enrollment codes on its port too', async () => {
    const dir = freshDir();
    const { enrollments } = stores(dir);
    const { code } = enrollments.create({ agent: 'mcp-only', hub: 'plexus', grants: [] });
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir });
    const hub = new DynamicHub('plexus', { policy: auth });
    const server = await serveMcpHttp(hub, { port: 0 });
    try {
      const post = (body: string) => fetch(new URL('/enroll', server.url), { method: 'POST', body });
      const ok = await post(JSON.stringify({ code }));
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { agent: string }).agent, 'mcp-only');
      const again = await post(JSON.stringify({ code }));
      assert.equal(again.status, 401);
      assert.equal(((await again.json()) as { error: { message: string } }).error.message, ENROLLMENT_REFUSED);
    } finally {
      await server.close();
      auth.close();
    }
  });

  it('an open hub (no token store when it started) has nothing to enroll for: _enroll -32003, POST /enroll 403', async () => {
    const dir = freshDir();
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir });
    assert.equal(auth.mode, 'open');
    const hub = new DynamicHub('plexus', { policy: auth });
    const server = await serveWebSocket(hub, { port: 0, http: enrollHandler(hub) });
    const client = await RawClient.open(server.url);
    try {
      const f = await client.request('_enroll', { code: 'ABCD-EFGH-JKMN' });
      assert.equal(f.error.code, -32003);
      assert.match(f.error.message, /Enrollment is not available: this hub runs without authentication/);
      const res = await fetch(`${server.url.replace(/^ws/, 'http')}/enroll`, { method: 'POST', body: '{"code":"ABCD-EFGH-JKMN"}' });
      assert.equal(res.status, 403);
    } finally {
      client.close();
      await server.close();
      auth.close();
    }
  });
});
