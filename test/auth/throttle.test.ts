// Issue 21 item 7: the failed-auth throttle must never lock out a valid credential.
// On a loopback hub every local client is 127.0.0.1, so a throttle that looked at the
// address before the credential let one process with a wrong token lock out everyone.
//
// | transport        | applies | why                                                        |
// |------------------|---------|------------------------------------------------------------|
// | WebSocket        | yes     | the upgrade authenticates (30 valid connections below)    |
// | MCP HTTP         | yes     | every /mcp request authenticates (30 valid initializes)   |
// | stdio / MCP stdio| no      | one process, its --token checked once at start; no address |
// | through a mount  | no      | a mount presents the parent's own credential, as WebSocket |
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { parseGrant } from '../../src/auth/grants.js';
import { FailedAuthLimiter } from '../../src/auth/rate-limit.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { eventually } from '../support/helpers.js';
import { startHub, type HubProcess } from '../support/hub-process.js';

/**
 * The attacker: a separate process that opens a WebSocket upgrade with a wrong token
 * every 100 ms and prints each answer's status, until killed.
 */
const ATTACKER = `
const http = require('node:http');
const url = new URL(process.argv[1]);
setInterval(() => {
  const req = http.request({ host: url.hostname, port: url.port, path: '/', headers: {
    Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Authorization: 'Bearer phub_wrong' } });
  req.on('response', (res) => { console.log(res.statusCode); res.resume(); });
  req.on('upgrade', (res, socket) => { console.log(101); socket.destroy(); });
  req.on('error', () => console.log('error'));
  req.end();
}, 100);
`;

describe('a wrong token sent every 100 ms from loopback locks out no valid token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-throttle-'));
  const store = new TokenStore(dir);
  const token = store.create({ name: 'ci', hub: 'plexus', grants: [parseGrant('echo.*:read')] }).token;
  let hub: HubProcess;
  let attacker: ChildProcess;
  const statuses: string[] = [];

  before(async () => {
    hub = await startHub({ args: ['--data-dir', dir, '--no-builtins', 'activations/echo.ts'] });
    attacker = spawn(process.execPath, ['-e', ATTACKER, hub.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: attacker.stdout! }).on('line', (l) => statuses.push(l));
    // The attacker's burst is spent: its failures are now answered 429.
    await eventually(() => statuses.includes('429'), 10_000);
  });
  after(async () => {
    attacker?.kill('SIGKILL');
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('30 valid-token WebSocket connections all open and call while the attacker is throttled', async () => {
    const opened = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<number>((resolve) => {
            const ws = new WebSocket(hub.url, { headers: { authorization: `Bearer ${token}` } });
            ws.once('open', () => {
              ws.send(
                JSON.stringify({
                  jsonrpc: '2.0',
                  id: 1,
                  method: 'plexus.call',
                  params: { method: 'echo.once', params: { message: 'hi' } },
                }),
              );
              ws.on('message', (m) => {
                const f = JSON.parse(m.toString());
                if (f.params?.result?.type === 'data') {
                  ws.close();
                  resolve(101);
                }
              });
            });
            ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
            ws.once('error', () => resolve(-1));
          }),
      ),
    );
    assert.deepEqual(opened, Array(30).fill(101));
  });

  it('30 valid-token MCP HTTP initializes all succeed while the attacker is throttled', async () => {
    const mcp = `${hub.url.replace(/^ws/, 'http')}/mcp`;
    const statusesOk = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const res = await fetch(mcp, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } },
          }),
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    assert.deepEqual(statusesOk, Array(30).fill(200));
  });

  it('the attacker itself stays throttled: its wrong tokens get 429, never 101', async () => {
    const seen = statuses.length;
    await eventually(() => statuses.length >= seen + 5, 5000);
    assert.ok(!statuses.includes('101'), 'a wrong token opened a connection');
    assert.deepEqual(statuses.slice(seen), Array(statuses.length - seen).fill('429'));
  });
});

describe('failed-auth limiter: per address and global', () => {
  it('a spent global bucket throttles failures from a fresh address too, and refills', () => {
    const limiter = new FailedAuthLimiter({ burst: 1000, globalBurst: 5, globalRefillMs: 1000 });
    for (let i = 0; i < 5; i++) {
      assert.equal(limiter.retryAfter(`10.0.0.${i}`, 0), 0);
      limiter.fail(`10.0.0.${i}`, 0);
    }
    assert.equal(limiter.retryAfter('10.0.0.99', 0), 1000);
    assert.equal(limiter.retryAfter('10.0.0.99', 1000), 0);
  });

  it('tracks at most maxAddresses addresses (an attacker with many addresses grows nothing without bound)', () => {
    const limiter = new FailedAuthLimiter({ maxAddresses: 3, globalBurst: 1e9 });
    for (let i = 0; i < 1000; i++) limiter.fail(`a${i}`, 0);
    assert.equal(limiter.size, 3);
    // The most recent address is still remembered; a spent one is throttled.
    for (let i = 0; i < 10; i++) limiter.fail('a999', 0);
    assert.ok(limiter.retryAfter('a999', 0) > 0);
    assert.equal(limiter.retryAfter('a0', 0), 0);
  });
});
