// `npm run bench:limits` (node --expose-gc): the memory the limits let hostile clients
// pin in the server at the defaults, measured as live memory after a full GC (heap +
// external + array buffers); RSS is not used because V8 keeps the heap it grew to for
// garbage. Server and clients share this process, so each figure includes the clients'
// side too (an upper bound); clients that stopped reading hold nothing on the heap.
//
// Parts, each measured, then added up for the worst case at the defaults:
// 1. idle connections (10,000 allowed);
// 2. streams beyond the bytes they are charged (100,000 allowed): small paused streams;
// 3. the byte budget (512 MiB) filled the most expensive ways a peer can: paused streams
//    holding 1 MiB params on connections that stopped reading, and partial 1 MiB frames;
// 4. what passes the budget by design: each connection may queue up to one socket
//    buffer (16 KiB) and one message while the budget is spent.
import WebSocket from 'ws';
import { DynamicHub, defineActivation } from '../src/index.js';
import { DEFAULT_MAX_CONNECTION_BYTES, DEFAULT_MAX_TOTAL_BYTES, ByteBudget } from '../src/transport/byte-budget.js';
import { DEFAULT_MAX_TOTAL_STREAMS } from '../src/transport/stream-budget.js';
import { DEFAULT_MAX_CONNECTIONS, serveWebSocket } from '../src/transport/websocket-server.js';
import { builtinActivations } from '../activations/index.js';
import { live, MiB, sleep } from './live-memory.js';

/** Resolves once `read()` has kept its value for `quietMs`. */
async function steady(read: () => number, quietMs = 300): Promise<void> {
  let value = read();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    await sleep(20);
    const now = read();
    if (now !== value) [value, since] = [now, Date.now()];
  }
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

const call = (id: number, message: string) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'plexus.call', params: { method: 'echo.echo', params: { message, count: 1e9 } } });

/** Opens `streamsEach` endless echo streams per socket, then stops reading, as a client that vanished would. */
async function stall(sockets: WebSocket[], streamsEach: number, message: (i: number) => string): Promise<void> {
  for (const ws of sockets) for (let i = 0; i < streamsEach; i++) ws.send(call(i + 1, message(i)));
  await sleep(500);
  for (const ws of sockets) ws.pause();
  // Everything the clients wrote has reached the server (or the server stopped reading).
  await steady(() => sockets.reduce((n, ws) => n + ws.bufferedAmount, 0), 500);
}

/** `hold.wait {message}`: a stream that yields nothing and keeps its params until cancelled. */
const hold = defineActivation({
  namespace: 'hold',
  methods: {
    wait: {
      params: { type: 'object', properties: { message: { type: 'string' } } },
      streaming: true,
      handler: async function* (params) {
        await new Promise(() => {});
        yield params; // never reached: the suspended generator keeps `params` alive, as a slow method would
      },
    },
  },
});
const budget = new ByteBudget();
const server = await serveWebSocket(new DynamicHub().register(...builtinActivations(), hold), { port: 0, byteBudget: budget });
const base = await live();

// 1. Idle connections.
const IDLE = 1000;
const idle = await open(server.url, IDLE);
const withIdle = await live();
const perIdle = (withIdle - base) / IDLE;

// 2. Small paused streams (1 KiB items, ~1 KiB params each) on connections that stopped reading.
const SMALL = 'x'.repeat(1000);
const MANY = 10;
const STREAMS_EACH = 500;
const many = await open(server.url, MANY);
const chargedBefore = budget.used;
await stall(many, STREAMS_EACH, () => SMALL);
const withMany = await live();
const chargedSmall = budget.used - chargedBefore;
const perStream = (withMany - withIdle - chargedSmall) / (MANY * STREAMS_EACH); // beyond what the budget counts
for (const ws of many) ws.terminate();
await steady(() => budget.used);

// 3a. The byte budget filled with open streams holding ~1 MiB params each (distinct
//     strings), 63 per connection (the per-connection limit), on as many connections as it takes.
const beforeFill = await live();
const perConnection = Math.floor(DEFAULT_MAX_CONNECTION_BYTES / MiB) - 1;
const fillers = await open(server.url, Math.floor(DEFAULT_MAX_TOTAL_BYTES / DEFAULT_MAX_CONNECTION_BYTES));
let answered = 0;
for (const [c, ws] of fillers.entries()) {
  ws.on('message', () => answered++);
  for (let i = 0; i < perConnection; i++)
    ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: i + 1,
        method: 'plexus.call',
        params: { method: 'hold.wait', params: { message: `${c}.${i}${'p'.repeat(MiB - 300)}` } },
      }),
    );
}
while (answered < fillers.length * perConnection) await sleep(50);
const filled = await live();
const fillCharged = budget.used;
const fillRatio = (filled - beforeFill) / fillCharged;
for (const ws of fillers) ws.terminate();
await steady(() => budget.used);

// 3b. The byte budget filled with partial frames: each connection sends 1,000,000 bytes of a 1 MiB frame.
const beforePartial = await live();
const PARTIAL = 100;
const partials = await open(server.url, PARTIAL);
for (const ws of partials) {
  const head = Buffer.alloc(14);
  head[0] = 0x81;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(BigInt(MiB), 2);
  (ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.concat([head, Buffer.alloc(1_000_000, 0x20)]));
}
await steady(() => budget.used, 500);
const withPartial = await live();
const partialRatio = (withPartial - beforePartial) / budget.used;
for (const ws of partials) ws.terminate();

const worst = { connections: DEFAULT_MAX_CONNECTIONS, streams: DEFAULT_MAX_TOTAL_STREAMS };
const ratio = Math.max(fillRatio, partialRatio);
const overBudget = worst.connections * (16 * 1024 + 1024); // one socket buffer and one 1 KiB message each
const parts = {
  idle: worst.connections * perIdle,
  streams: worst.streams * Math.max(0, perStream),
  budget: DEFAULT_MAX_TOTAL_BYTES * ratio,
  overBudget: overBudget * ratio,
};
const worstMiB = (parts.idle + parts.streams + parts.budget + parts.overBudget) / MiB;
const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
console.log(`idle connection: ${(perIdle / 1024).toFixed(1)} KiB (both ends; ${IDLE} open)`);
console.log(
  `paused stream beyond its charged bytes: ${(perStream / 1024).toFixed(1)} KiB (${MANY} × ${STREAMS_EACH}, 1 KiB items; ${mib(chargedSmall)} charged)`,
);
console.log(
  `byte budget filled by open streams holding 1 MiB params: ${fillers.length} × ${perConnection}, ${mib(fillCharged)} charged, ${mib(filled - beforeFill)} live (× ${fillRatio.toFixed(2)})`,
);
console.log(
  `byte budget filled by partial frames: ${PARTIAL} × 1,000,000 bytes, ${mib(withPartial - beforePartial)} live (× ${partialRatio.toFixed(2)})`,
);
console.log(
  `worst case at the defaults (${worst.connections} connections, ${worst.streams} paused streams, ${mib(DEFAULT_MAX_TOTAL_BYTES)} byte budget full): ` +
    `${mib(parts.idle)} idle + ${mib(parts.streams)} streams + ${mib(parts.budget)} budget + ${mib(parts.overBudget)} past the budget = about ${Math.round(worstMiB)} MiB live`,
);
console.log(`V8 heap limit of this process: ${Math.round((await import('node:v8')).getHeapStatistics().heap_size_limit / MiB)} MiB`);
for (const ws of idle) ws.terminate();
await server.close({ graceMs: 0 });
process.exit(0);
