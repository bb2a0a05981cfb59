import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import { DynamicHub } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { builtinActivations } from '../../activations/index.js';

const hub = new DynamicHub().register(...builtinActivations());
let server: PlexusServer;
after(() => server?.close({ graceMs: 0 }));

const methods = ['plexus.call', 'plexus.schema', 'plexus.hash', '_info', 'plexus.call_unsub', 'plexus.respond', 'plexus.nope', '', 'x'];
const paths = [
  'echo.echo',
  'echo.once',
  'solar.earth.luna.info',
  'solar.observe',
  'health.check',
  'echo',
  'nope.x',
  'plexus.call',
  'echo.schema',
  '.',
  '..',
  'a.b.c.d.e',
];
const validFrame = fc.record({
  jsonrpc: fc.constantFrom('2.0', '1.0', 2, undefined),
  id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.constant(undefined), fc.double(), fc.object()),
  method: fc.oneof(fc.constantFrom(...methods), fc.string(), fc.integer()),
  params: fc.oneof(
    fc.record(
      { method: fc.oneof(fc.constantFrom(...paths), fc.string(), fc.integer()), params: fc.oneof(fc.object(), fc.jsonValue()) },
      { requiredKeys: [] },
    ),
    fc.array(fc.jsonValue(), { maxLength: 3 }),
    fc.jsonValue(),
  ),
});
/** Valid-looking frames, then mutated at random positions. */
const mutated = fc.tuple(validFrame, fc.nat(), fc.string({ maxLength: 4 }), fc.nat({ max: 3 })).map(([f, at, insert, cut]) => {
  const s = JSON.stringify(f);
  const i = at % (s.length + 1);
  return s.slice(0, i) + insert + s.slice(i + cut);
});
const frame = fc.oneof(
  validFrame.map((f) => JSON.stringify(f)),
  mutated,
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 64 }),
);

async function open(): Promise<WebSocket> {
  const ws = new WebSocket(server.url);
  ws.on('error', () => {});
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  return ws;
}

async function answersHash(ws: WebSocket): Promise<boolean> {
  return new Promise((resolve) => {
    const id = 'probe';
    const onMessage = (data: WebSocket.RawData) => {
      const m = JSON.parse(data.toString());
      if (m.params?.result?.content?.event === 'hash') {
        ws.off('message', onMessage);
        resolve(m.params.result.content.value === hub.hash());
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'plexus.hash' }));
    setTimeout(() => resolve(false), 5000);
  });
}

describe('fuzzing a live server', () => {
  it('survives thousands of random and mutated frames and still answers', async () => {
    server = await serveWebSocket(hub, { port: 0, maxStreams: 64, maxFrameBytes: 4096 });
    let sent = 0;
    let replies = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 20, maxLength: 60 }), async (frames) => {
        const ws = await open();
        ws.on('message', () => replies++);
        for (const f of frames) {
          if (ws.readyState !== WebSocket.OPEN) break;
          ws.send(f, { binary: typeof f !== 'string' });
          sent++;
        }
        const ok = ws.readyState !== WebSocket.OPEN || (await answersHash(ws));
        ws.close();
        return ok;
      }),
      { numRuns: 80, seed: 20261122 },
    );
    assert.ok(sent >= 2000, `sent ${sent} frames`);
    assert.ok(replies > sent / 2, 'the server answered most frames');
    const fresh = await open();
    assert.equal(await answersHash(fresh), true);
    fresh.close();
  });
});
