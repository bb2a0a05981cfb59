import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { DynamicHub, defineActivation } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { eventually, steady, tick } from '../support/helpers.js';

/**
 * A client that stops reading must not make the server buffer without bound:
 * once a connection has more than `highWaterMark` bytes queued, its producers
 * are simply not asked for the next item.
 */
const ITEM = 'x'.repeat(16 * 1024);
let produced = 0;
let finalized = false;
const hub = new DynamicHub().register(
  defineActivation({
    namespace: 'flood',
    methods: {
      items: {
        streaming: true,
        handler: async function* () {
          try {
            for (;;) {
              produced++;
              yield ITEM;
            }
          } finally {
            finalized = true;
          }
        },
      },
    },
  }),
);

let server: PlexusServer;
after(() => server?.close({ graceMs: 0 }));

describe('backpressure', () => {
  it('pauses an endless producer while the client does not read, and resumes when it does', async () => {
    const highWaterMark = 256 * 1024;
    server = await serveWebSocket(hub, { port: 0, highWaterMark });
    const ws = new WebSocket(server.url);
    await new Promise((r) => ws.once('open', r));
    let received = 0;
    ws.on('message', () => received++);
    const rssBefore = process.memoryUsage().rss;
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'flood.items' } }));
    await eventually(() => received > 10);
    // Stop reading: the kernel buffers fill, then the server's queue passes the high-water mark.
    ws.pause();
    await steady(() => produced, 300);
    const stalledAt = produced;
    await tick(500); // a while with nothing produced is what "paused" means
    assert.equal(produced, stalledAt, 'the producer is paused');
    // Bound: what the client read + kernel socket buffers (a few MiB on loopback) + the high-water mark + one item.
    const bufferedBytes = (produced - received) * ITEM.length;
    assert.ok(bufferedBytes < 32 * 1024 * 1024, `unread bytes ${bufferedBytes} stay bounded`);
    assert.ok(process.memoryUsage().rss - rssBefore < 96 * 1024 * 1024, 'server memory stays bounded');
    ws.resume();
    await eventually(() => produced > stalledAt + 100, 10_000);
    ws.close();
    await eventually(() => finalized, 5000);
  });
});
