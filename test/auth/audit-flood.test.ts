// Issue #21 item 6: the audit log can be neither trimmed nor flooded. Each rule is
// tried as a hostile client (or a hostile editor of the data dir) would.
//
// | rule                                   | where it applies                    | tested over                          |
// |----------------------------------------|-------------------------------------|--------------------------------------|
// | no-credential refusals summarised      | WebSocket (no token: calls refused; | WebSocket, MCP HTTP (in process)     |
// |   (no params, 1 record/address/interval)|  bad token: throttled upgrades),    |                                      |
// |                                        | MCP HTTP (no token is a 401 before  |                                      |
// |                                        |  any call: nothing recorded; bad    |                                      |
// |                                        |  token: throttled)                  |                                      |
// |                                        | stdio / MCP stdio: the caller is the|  n/a: there is no caller without a   |
// |                                        |  trusted parent or a --token        |  credential                          |
// |                                        | through a mount: the local hub      |  = WebSocket (the mount is a client  |
// |                                        |  refuses before relaying            |  of the remote with its own token)   |
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { verifyAuditLog } from '../../src/auth/audit-verify.js';
import { parseGrant } from '../../src/auth/grants.js';
import type { AuditEvent } from '../../src/auth/audit-log.js';
import { RefusalSummary } from '../../src/auth/audit-summary.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, serveWebSocket } from '../../src/index.js';
import { mcpHttpHandler } from '../../src/mcp/http.js';
import { ran, Vault } from '../fixtures/guarded.js';
import { RawClient } from '../support/raw-client.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'plexus-audit-'));
const recordsOf = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

/** The WebSocket upgrade's HTTP status. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => (ws.close(), resolve(101)));
    ws.once('unexpected-response', (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
    ws.once('error', (err) => !/Unexpected server response/.test(err.message) && reject(err));
  });
}

describe('a client without a credential cannot flood the audit log', () => {
  it('hammering calls with big params and no token, and throttled bad tokens over WebSocket and MCP HTTP, grow the log by at most one record per address per interval, without params', async () => {
    const dir = tmp();
    new TokenStore(dir).create({ name: 'reader', hub: 'plexus', grants: [parseGrant('vault.*:read')] });
    const intervalMs = 400;
    const auth = new HubAuth({
      hub: 'plexus',
      dataDir: dir,
      limiter: { burst: 3, refillMs: 60_000 },
      auditLog: { refusals: { intervalMs } },
    });
    const hub = new DynamicHub('plexus', { policy: auth }).register(new Vault());
    await hub.ready(); // the schema is built before the clock starts
    const mcp = mcpHttpHandler(hub);
    const server = await serveWebSocket(hub, { port: 0, http: (req, res) => mcp(req, res) });
    mcp.bind(server.host, server.port);
    ran.length = 0;
    const started = Date.now();
    let calls = 0;
    let throttled = 0;
    try {
      // 1. No token: calls of 200 KB params each, as fast as the connection takes them, for 1.5 s.
      const client = await RawClient.open(server.url);
      const big = { key: 'x'.repeat(200_000) };
      const sent: number[] = [];
      while (Date.now() - started < 1500) {
        for (let i = 0; i < 10; i++) sent.push(await client.call('vault.peek', big));
        calls += 10;
      }
      const last = await client.itemsToEnd(sent.at(-1)!);
      assert.deepEqual(
        [last[0].type, last[0].code, last[0].message],
        ['error', '-32001', 'Authentication required: present a token as "Authorization: Bearer <token>"'],
      );
      client.close();
      // 2. Bad tokens: 3 failures, then every attempt is throttled, over WebSocket and MCP HTTP.
      for (let i = 0; i < 3; i++) assert.equal(await upgradeStatus(server.url, { authorization: 'Bearer phub_guess' }), 401);
      for (let i = 0; i < 30; i++) {
        assert.equal(await upgradeStatus(server.url, { authorization: 'Bearer phub_guess' }), 429);
        const res = await fetch(`http://127.0.0.1:${server.port}/mcp`, {
          method: 'POST',
          headers: {
            authorization: 'Bearer phub_guess',
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { big: 'y'.repeat(100_000) } }),
        });
        assert.equal(res.status, 429);
        throttled += 2;
      }
      // 3. No token over MCP HTTP: a 401 before any call, nothing recorded.
      const anon = await fetch(`http://127.0.0.1:${server.port}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
      });
      assert.equal(anon.status, 401);
    } finally {
      await server.close({ graceMs: 0 });
      auth.close(); // writes the counts still pending
    }
    const elapsed = Date.now() - started;
    assert.deepEqual(ran, [], 'nothing ran');
    const records = recordsOf(auth.audit!.file);
    const refused = records.filter((r) => r.outcome === 'unauthenticated');
    const limited = records.filter((r) => r.outcome === 'throttled');
    // Every refusal is counted, none recorded with params.
    assert.equal(
      refused.reduce((n, r) => n + r.count, 0),
      calls,
    );
    assert.equal(
      limited.reduce((n, r) => n + r.count, 0),
      throttled,
    );
    for (const r of [...refused, ...limited]) {
      assert.equal(r.params, undefined);
      assert.ok(JSON.stringify(r).length < 600, `a refusal record is small: ${JSON.stringify(r).length} bytes`);
    }
    // The bound: per (address, outcome), one record per interval, plus the last count at close.
    const bound = Math.ceil(elapsed / intervalMs) + 1;
    assert.ok(refused.length <= bound, `${refused.length} unauthenticated records for ${calls} calls in ${elapsed} ms (bound ${bound})`);
    assert.ok(limited.length <= bound, `${limited.length} throttled records for ${throttled} attempts (bound ${bound})`);
    assert.ok(calls >= 20 && refused.length < calls / 2, `${calls} calls`);
    assert.equal(records.filter((r) => r.outcome === 'auth_failed').length, 3);
    assert.ok(statSync(auth.audit!.file).size < (records.length + 1) * 600);
    assert.equal((await verifyAuditLog(auth.audit!.file)).ok, true);
  });
});

describe('refusal summaries stay bounded in memory too', () => {
  it('past maxAddresses, new addresses share one window under "*"; counts add up at flush', () => {
    const written: AuditEvent[] = [];
    const summary = new RefusalSummary((e) => written.push(e), { intervalMs: 60_000, maxAddresses: 3 });
    const refuse = (remote: string) =>
      summary.add({ event: 'call', principal: 'unauthenticated', remote, outcome: 'unauthenticated', path: 'x'.repeat(10_000) });
    for (let i = 0; i < 1000; i++) refuse(`10.0.${i % 250}.${i % 7}`);
    summary.flush();
    assert.deepEqual(new Set(written.map((e) => e.remote)).size, 4, 'three addresses and "*"');
    assert.equal(
      written.reduce((n, e) => n + (e.count ?? 0), 0),
      1000,
    );
    assert.ok(written.length <= 8, `${written.length} records: one at the first refusal and one at flush per window`);
    for (const e of written) assert.ok((e.path?.length ?? 0) <= 128 && e.params === undefined);
  });
});
