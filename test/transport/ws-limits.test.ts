// Global caps of the WebSocket server (issue #10, item 4): connections, open streams
// across all connections, idle connections, dead peers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { DynamicHub } from '../../src/index.js';
import { serveWebSocket, type PlexusServer, type WebSocketServeOptions } from '../../src/transport/websocket-server.js';
import { eventually, tick } from '../support/helpers.js';
import { endless } from '../support/endless.js';

async function withServer(options: WebSocketServeOptions, body: (server: PlexusServer) => Promise<void>): Promise<void> {
  const server = await serveWebSocket(new DynamicHub().register(endless({ intervalMs: 20 })), { port: 0, ...options });
  try {
    await body(server);
  } finally {
    await server.close({ graceMs: 0 });
  }
}

function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => ws.once('open', () => resolve(ws)).once('error', reject));
}

/** Sends a request and resolves with its answer (stream items are skipped). */
function request(
  ws: WebSocket,
  id: number,
  method: string,
  params?: unknown,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== id) return;
      ws.off('message', onMessage);
      resolve(msg);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
  });
}

const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

describe('WebSocket server global caps', { timeout: 20_000 }, () => {
  it('maxConnections: the connection past the cap gets 503 with a reason', async () => {
    await withServer({ maxConnections: 3 }, async (server) => {
      const open = await Promise.all([1, 2, 3].map(() => connect(server.url)));
      const refused = new WebSocket(server.url);
      const status = await new Promise<number>((resolve) =>
        refused.once('unexpected-response', (_req, res) => resolve(res.statusCode!)).once('open', () => resolve(101)),
      );
      assert.equal(status, 503);
      open[0]!.close();
      await eventually(() => server.connections === 2);
      const again = await connect(server.url);
      again.close();
      open.forEach((ws) => ws.close());
    });
  });

  it('maxTotalStreams: streams across all connections are capped; a closed connection frees its share', async () => {
    await withServer({ maxTotalStreams: 5, maxStreams: 4 }, async (server) => {
      const a = await connect(server.url);
      const b = await connect(server.url);
      for (let i = 1; i <= 3; i++) assert.equal(typeof (await request(a, i, 'plexus.call', { method: 'endless.ticks' })).result, 'number');
      for (let i = 1; i <= 2; i++) assert.equal(typeof (await request(b, i, 'plexus.call', { method: 'endless.ticks' })).result, 'number');
      const over = await request(b, 3, 'plexus.call', { method: 'endless.ticks' });
      assert.deepEqual(over.error, {
        code: -32005,
        message: 'Too many streams: the server already has 5 open across all connections (the limit)',
      });
      const gone = closed(a);
      a.close();
      await gone;
      await eventually(() => server.connections === 1); // the server saw it go and released its streams
      assert.equal(typeof (await request(b, 4, 'plexus.call', { method: 'endless.ticks' })).result, 'number');
      b.close();
    });
  });

  it('idleTimeoutMs: a connection with no stream and no message is closed; a stream or client pings keep one open', async () => {
    await withServer({ idleTimeoutMs: 500 }, async (server) => {
      const t0 = Date.now(); // before the server starts counting, so the bound below is safe under load
      const idle = await connect(server.url);
      const streaming = await connect(server.url);
      const pinging = await connect(server.url);
      const idleClosed = closed(idle);
      await request(streaming, 1, 'plexus.call', { method: 'endless.ticks' });
      const pinger = setInterval(() => pinging.ping(), 50);
      const { code, reason } = await idleClosed;
      assert.equal(code, 1001);
      assert.equal(reason, 'Idle timeout: no stream and no message for 500 ms');
      assert.ok(Date.now() - t0 >= 500);
      await tick(600); // past another idle timeout: the two that are in use stay open
      clearInterval(pinger);
      assert.equal(streaming.readyState, WebSocket.OPEN);
      assert.equal(pinging.readyState, WebSocket.OPEN);
      streaming.close();
      pinging.close();
    });
  });

  it('pingIntervalMs: a peer that stops answering pings is dropped and its streams cancelled', async () => {
    await withServer({ pingIntervalMs: 100 }, async (server) => {
      const ws = await connect(server.url);
      await request(ws, 1, 'plexus.call', { method: 'endless.ticks' });
      // The peer stops reading: no pong goes back, as with a host that vanished.
      ws.pause();
      await eventually(() => server.connections === 0, 3000);
      ws.terminate();
    });
  });
});
