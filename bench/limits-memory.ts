// `npm run bench:limits` (node --expose-gc): the memory the global limits let clients
// pin in the server, measured as live memory after a full GC (heap + external +
// array buffers); RSS is not used because V8 keeps the heap it grew to for garbage.
// Server and clients share this process: the idle-connection figure includes the
// client's side too (an upper bound); paused clients hold nothing on the heap.
import WebSocket from 'ws';
import { DynamicHub } from '../src/index.js';
import { serveWebSocket } from '../src/transport/websocket-server.js';
import { builtinActivations } from '../activations/index.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

async function live(): Promise<number> {
  await sleep(300);
  gc!();
  await sleep(50);
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function open(url: string, n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += 100) {
    out.push(
      ...(await Promise.all(
        Array.from(
          { length: Math.min(100, n - i) },
          () =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(url);
              ws.once('open', () => resolve(ws)).once('error', reject);
            }),
        ),
      )),
    );
  }
  return out;
}

async function stall(sockets: WebSocket[], streamsEach: number, message: string): Promise<void> {
  for (const ws of sockets) {
    for (let i = 0; i < streamsEach; i++) {
      ws.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: i + 1,
          method: 'plexus.call',
          params: { method: 'echo.echo', params: { message, count: 1e9 } },
        }),
      );
    }
  }
  // Let each fill its send buffer, then stop reading, as a client that vanished would.
  await sleep(500);
  for (const ws of sockets) ws.pause();
  await sleep(500);
}

const server = await serveWebSocket(new DynamicHub().register(...builtinActivations()), { port: 0 });
const message = 'x'.repeat(1000);
const base = await live();

const IDLE = 1000;
const idle = await open(server.url, IDLE);
const withIdle = await live();
const perIdle = (withIdle - base) / IDLE;

const SINGLE = 50;
const singles = await open(server.url, SINGLE);
await stall(singles, 1, message);
const withSingles = await live();
const perStalledConnection = (withSingles - withIdle) / SINGLE;

const MANY = 10;
const STREAMS_EACH = 500;
const many = await open(server.url, MANY);
await stall(many, STREAMS_EACH, message);
const withMany = await live();
const perExtraStream = (withMany - withSingles - MANY * perStalledConnection) / (MANY * (STREAMS_EACH - 1));

const worst = { connections: 10_000, streams: 100_000 };
const worstMiB = (worst.connections * perStalledConnection + (worst.streams - worst.connections) * perExtraStream) / MiB;
console.log(`idle connection: ${(perIdle / 1024).toFixed(1)} KiB (both ends; ${IDLE} open)`);
console.log(
  `connection whose reader stalled, one endless stream of 1 KiB items: ${(perStalledConnection / 1024).toFixed(0)} KiB (${SINGLE} of them)`,
);
console.log(`each further paused stream on such a connection: ${(perExtraStream / 1024).toFixed(1)} KiB (${MANY} × ${STREAMS_EACH})`);
console.log(
  `worst case at the defaults (${worst.connections} stalled connections, ${worst.streams} paused streams of 1 KiB items): about ${Math.round(worstMiB)} MiB live`,
);
for (const ws of [...idle, ...singles, ...many]) ws.terminate();
await server.close({ graceMs: 0 });
process.exit(0);
