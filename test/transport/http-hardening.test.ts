// No HTTP request of any shape may take the process down (issue #10, item 1): odd
// paths (`//a:b` made `new URL` throw in the MCP handler), absolute forms, bad
// upgrades, truncated bodies. Probed against the real `hub serve` and `hub mcp --http`.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { startHub } from '../support/hub-process.js';

/** Sends raw bytes, returns the status line the server answered with ('' if it just closed). */
function probe(port: number, raw: string | Buffer, endAfterMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.write(raw);
    setTimeout(() => socket.destroy(), endAfterMs);
  });
}

const PROBES: readonly string[] = [
  'GET //a:b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'POST //a:b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}',
  'GET //[::1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET //a:b/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET http://[bad/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET http://x:99999/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET /mcp?%zz=%%% HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET /%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\nnull',
  'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]',
  'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"a":"b"',
  'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc":',
  'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n',
  'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nMcp-Session-Id: x\r\nMcp-Session-Id: y\r\nContent-Length: 2\r\n\r\n{}',
  'DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nMcp-Session-Id: \r\n\r\n',
  'GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: ../../etc\r\n\r\n',
  'GET //a:b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 99\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n',
  'GARBAGE\r\n\r\n',
  '\x00\x01\x02\xff\r\n\r\n',
];

async function probeAll(port: number): Promise<string[]> {
  const answers: string[] = [];
  for (const raw of PROBES) answers.push(await probe(port, raw));
  // What Node's own fetch sends for this URL (the request of the bug report).
  await fetch(`http://127.0.0.1:${port}//a:b`).catch(() => undefined);
  // A client that goes away mid-upgrade.
  await probe(
    port,
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    1,
  );
  return answers;
}

describe('no HTTP request kills the process', { timeout: 60_000 }, () => {
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill('SIGKILL')));

  it('hub serve: every probe is answered or closed; the WebSocket and /mcp still work', async () => {
    const { child, port } = await startHub();
    children.push(child);
    const answers = await probeAll(port);
    assert.equal(child.exitCode, null, 'hub serve is still running');
    assert.equal(child.signalCode, null);
    // The request of the bug report gets a 4xx, not a dead socket.
    assert.match(answers[0]!, /^HTTP\/1\.1 4\d\d /);
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.hash' }));
    const reply = await new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    assert.equal(JSON.parse(reply).result, 1);
    ws.close();
    const mcp = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET' });
    assert.equal(mcp.status, 400);
  });

  it('hub mcp --http: every probe is answered or closed; /mcp still works', async () => {
    const { child, port } = await startHub({ command: 'mcp', args: ['--http'] });
    children.push(child);
    const answers = await probeAll(port);
    assert.equal(child.exitCode, null, 'hub mcp --http is still running');
    assert.match(answers[0]!, /^HTTP\/1\.1 4\d\d /);
    const init = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    assert.equal(init.status, 200);
    assert.ok(init.headers.get('mcp-session-id'));
  });
});
