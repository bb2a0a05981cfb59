// One socket cannot grow the hub without bound (issue #22, items 1–3), tried as a hostile
// peer would. Where each rule is tried:
//
// | rule                                                   | hub serve (WebSocket) | in process (WebSocket) | stdio |
// |--------------------------------------------------------|-----------------------|------------------------|-------|
// | 1 echoed method names are truncated                    | yes (memory bound)    |                        | yes   |
// | 1 a congested connection is not read (every reply)     | yes (memory bound)    |                        |       |
// | 1 queued output past the connection's limit drops it   |                       | yes                    |       |
// | 2 only the pong of the last ping counts                | yes                   | yes                    | n/a   |
// | 3 params of open streams: per connection, per process  | yes (memory bound)    |                        |       |
// | 3 partial frames are charged to the process budget     |                       | yes                    | n/a   |
//
// MCP over HTTP is bounded by its own items (#22, 4–5); a joined link serves through the
// same WebSocketSink (src/transport/websocket-link.ts) as a served connection.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { ByteBudget, DynamicHub, defineActivation, serveStdio } from '../../src/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { endless } from '../support/endless.js';
import { eventually, steady } from '../support/helpers.js';
import { startHub } from '../support/hub-process.js';
import { RawClient } from '../support/raw-client.js';

const MiB = 1024 * 1024;

/** Resident memory of a process, from /proc (what the kernel says it holds, garbage included). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1]) * 1024;
}

function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => ws.once('open', () => resolve(ws)).once('error', reject));
}

const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

/** Waits until everything `ws` wrote has left its process (handed to the kernel), or its peer stopped reading. */
async function sent(ws: WebSocket): Promise<void> {
  await steady(() => ws.bufferedAmount, 500, 60_000);
}

describe('one socket cannot grow the hub without bound', { timeout: 180_000 }, () => {
  it('1: an unknown method name is echoed truncated (WebSocket and stdio)', async () => {
    const hub = new DynamicHub().register(endless());
    const server = await serveWebSocket(hub, { port: 0 });
    try {
      const c = await RawClient.open(server.url);
      const name = 'n'.repeat(10_000);
      const { error } = await c.request(name);
      assert.deepEqual(error, { code: -32601, message: `Method not found: ${'n'.repeat(128)}…` });
      assert.deepEqual((await c.request('short.name')).error, { code: -32601, message: 'Method not found: short.name' });
      c.close();
    } finally {
      await server.close({ graceMs: 0 });
    }
    const input = new PassThrough();
    const output = new PassThrough();
    let out = '';
    output.on('data', (d) => (out += d));
    const done = serveStdio(hub, { input, output });
    input.end(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'm'.repeat(5000) })}\n`);
    await done;
    assert.deepEqual(JSON.parse(out.trim()).error, { code: -32601, message: `Method not found: ${'m'.repeat(128)}…` });
  });

  it('1: 1 MB frames calling an unknown method, never read: hub serve stays within 64 MiB of growth', async () => {
    const hub = await startHub();
    try {
      const ws = await connect(hub.url);
      ws.pause(); // never reads a reply
      const frame = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'u'.repeat(MiB - 100) });
      const before = rssOf(hub.child.pid!);
      for (let i = 0; i < 200; i++) ws.send(frame); // 200 MB; each answer used to echo the whole name
      await sent(ws);
      await steady(() => rssOf(hub.child.pid!), 500, 60_000);
      const grown = rssOf(hub.child.pid!) - before;
      assert.ok(grown < 64 * MiB, `hub serve grew by ${(grown / MiB).toFixed(0)} MiB`);
      ws.terminate();
    } finally {
      await hub.stop();
    }
  });

  it('1: a peer that pipelines requests and never reads is no longer read; hub serve stays within 64 MiB', async () => {
    const hub = await startHub();
    try {
      const ws = await connect(hub.url);
      ws.pause();
      const before = rssOf(hub.child.pid!);
      // Each ~60-byte request gets a ~80-byte answer: 40 MB of answers nobody reads.
      for (let i = 0; i < 500_000; i++) ws.send(`{"jsonrpc":"2.0","id":${i},"method":"nope${i % 10}"}`);
      await sent(ws);
      // The hub stopped reading this connection: what it did not read waits on our side.
      assert.ok(ws.bufferedAmount > 0, 'the hub stopped reading a connection whose answers pile up');
      await steady(() => rssOf(hub.child.pid!), 500, 60_000);
      const grown = rssOf(hub.child.pid!) - before;
      assert.ok(grown < 64 * MiB, `hub serve grew by ${(grown / MiB).toFixed(0)} MiB`);
      // Another connection is served meanwhile.
      const other = await RawClient.open(hub.url);
      assert.equal((await other.request('_info')).error, undefined);
      other.close();
      ws.terminate();
    } finally {
      await hub.stop();
    }
  });

  it("1: queued output alone past the connection's byte limit drops the connection", async () => {
    const budget = new ByteBudget();
    // Items far larger than the request that asked for them: only such a method can pass the limit.
    const big = defineActivation({
      namespace: 'big',
      methods: {
        items: {
          streaming: true,
          handler: async function* () {
            for (;;) yield 'b'.repeat(2_000_000);
          },
        },
      },
    });
    const server = await serveWebSocket(new DynamicHub().register(big), {
      port: 0,
      highWaterMark: 64 * 1024,
      maxConnectionBytes: 1_500_000,
      byteBudget: budget,
    });
    try {
      const ws = await connect(server.url);
      ws.pause();
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'big.items' } }));
      // Once the kernel's buffers are full, one 2 MB item queued is past 1.5 MB: the connection goes.
      await eventually(() => server.connections === 0, 30_000);
      await eventually(() => budget.used === 0, 5000);
      ws.terminate();
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it('2: a peer that never reads but sends a pong every interval is dropped (in process)', async () => {
    const server = await serveWebSocket(new DynamicHub().register(endless()), { port: 0, pingIntervalMs: 200 });
    try {
      const liar = await connect(server.url);
      const honest = await connect(server.url); // reads, so ws answers each ping with its payload
      liar.pause();
      const pongs = setInterval(() => liar.pong(), 50);
      await eventually(() => server.connections === 1, 10_000);
      clearInterval(pongs);
      assert.equal(honest.readyState, WebSocket.OPEN, 'the peer that answers the pings stays');
      liar.terminate();
      honest.close();
    } finally {
      await server.close({ graceMs: 0 });
    }
  });

  it('2: hub serve --ping-interval 1 drops a peer that sends unsolicited pongs each second', async () => {
    const hub = await startHub({ args: ['--ping-interval', '1'] });
    try {
      const liar = await connect(hub.url);
      liar.pause();
      const gone = new Promise<void>((resolve) => liar.once('close', () => resolve()));
      // Writing to a socket the hub reset fails: the close reaches us even though we do not read.
      const pongs = setInterval(() => liar.readyState === WebSocket.OPEN && liar.pong(), 1000);
      const t0 = Date.now();
      await gone;
      clearInterval(pongs);
      assert.ok(Date.now() - t0 < 10_000, 'dropped within a few ping intervals');
      const honest = await RawClient.open(hub.url);
      assert.equal((await honest.request('_info')).error, undefined);
      honest.close();
    } finally {
      await hub.stop();
    }
  });

  it('3: params held by open streams are budgeted by bytes, per connection and per process (hub serve)', async () => {
    const hub = await startHub({ args: ['test/fixtures/endless.ts', '--max-connection-bytes', '1000000', '--max-total-bytes', '1500000'] });
    try {
      // A stream that waits a minute between ticks stays open holding its request.
      const open = (c: RawClient, pad: number) =>
        c.request('plexus.call', { method: 'endless.ticks', params: { ms: 60_000 }, pad: 'p'.repeat(pad) });
      const a = await RawClient.open(hub.url);
      for (let i = 0; i < 3; i++) assert.equal(typeof (await open(a, 250_000)).result, 'number');
      const refused = await open(a, 250_000);
      assert.equal(refused.error.code, -32005);
      assert.match(
        refused.error.message,
        /^Too much memory held: a new stream \(its request frame\) needs \d+ bytes, and this connection already holds \d+ of its 1000000 bytes \(the limit\)$/,
      );
      const b = await RawClient.open(hub.url);
      for (const pad of [250_000, 250_000, 240_000]) assert.equal(typeof (await open(b, pad)).result, 'number');
      // b holds ~740 kB of its 1 MB, the process ~1.49 of its 1.5 MB: 12 kB more is the process's refusal.
      const global = await open(b, 12_000);
      assert.equal(global.error.code, -32005);
      assert.match(global.error.message, /the server already holds \d+ of its 1500000 bytes for its peers \(the limit\)$/);
      // A closed connection gives its bytes back.
      const gone = closed(a.ws);
      a.close();
      await gone;
      let again: any;
      for (const until = Date.now() + 10_000; Date.now() < until; ) {
        again = await open(b, 12_000);
        if (again.result !== undefined) break;
      }
      assert.equal(typeof again.result, 'number');
      b.close();
    } finally {
      await hub.stop();
    }
  });

  it('3: paused streams of 1 MB params, never read: hub serve holds at most its connection limit (memory bound)', async () => {
    const hub = await startHub({ args: ['--max-connection-bytes', String(8 * MiB)] });
    try {
      const ws = await connect(hub.url);
      ws.pause();
      const before = rssOf(hub.child.pid!);
      const message = 'm'.repeat(MiB - 200);
      for (let i = 1; i <= 150; i++)
        ws.send(
          JSON.stringify({
            jsonrpc: '2.0',
            id: i,
            method: 'plexus.call',
            params: { method: 'echo.echo', params: { message: `${i}${message}`, count: 1e9 } },
          }),
        );
      await sent(ws);
      await steady(() => rssOf(hub.child.pid!), 1000, 60_000);
      const grown = rssOf(hub.child.pid!) - before;
      // 150 MB of params used to stay alive; now at most 8 MiB of them (plus the garbage of reading 150 MB).
      assert.ok(grown < 96 * MiB, `hub serve grew by ${(grown / MiB).toFixed(0)} MiB`);
      ws.terminate();
    } finally {
      await hub.stop();
    }
  });

  it('3: partial frames are charged to the process budget; one that does not fit closes its connection with 1013', async () => {
    const budget = new ByteBudget(3_000_000);
    const server = await serveWebSocket(new DynamicHub().register(endless()), { port: 0, byteBudget: budget });
    /** Sends the header of a 1,000,000-byte masked text frame and `n` bytes of its payload. */
    const startFrame = (ws: WebSocket, n: number) => {
      const head = Buffer.alloc(14);
      head[0] = 0x81;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(1_000_000n, 2);
      (ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.concat([head, Buffer.alloc(n, 0x20)]));
    };
    try {
      const sockets = await Promise.all([1, 2, 3, 4].map(() => connect(server.url)));
      for (const ws of sockets.slice(0, 3)) startFrame(ws, 900_000);
      await eventually(() => budget.used >= 2_700_000, 10_000);
      const refused = closed(sockets[3]!);
      startFrame(sockets[3]!, 900_000);
      const { code, reason } = await refused;
      assert.equal(code, 1013);
      assert.match(reason, /^Try again later: a partial message of \d+ bytes does not fit, the server holds \d+ of its 3000000 bytes/);
      assert.ok(budget.used <= 3_000_000, `${budget.used} bytes held`);
      for (const ws of sockets.slice(0, 3)) ws.terminate();
      await eventually(() => budget.used === 0, 5000);
    } finally {
      await server.close({ graceMs: 0 });
    }
  });
});
