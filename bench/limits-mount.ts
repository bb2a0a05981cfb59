// `npm run bench:limits` (second part): the memory a mounted hub can make this hub
// hold through its description, at the mount's default limits. A remote describes a
// tree just under the caps (10,000 activations, ~4 MiB of schemas in all); the figure
// is live memory after a full GC (heap + external) with the mount attached, minus
// before. Everything else a remote sends is bounded elsewhere (frames, held streams).
import { WebSocketServer, type WebSocket } from 'ws';
import { DynamicHub, mountRemote } from '../src/index.js';
import { live, MiB } from './live-memory.js';

const WIDE = 99; // root → 99 → 99 × 64: 6,436 activations (10,000 do not fit in 4 MiB of frames)
const hash = (s: string) => s.padStart(16, '0').slice(-16);
// Sized so that all the schema frames together stay just under 4 MiB.
const pad = 'p'.repeat(40);
function schema(path: string): Record<string, unknown> {
  const depth = path ? path.split('.').length : 0;
  const count = depth === 0 ? WIDE : depth === 1 ? 64 : 0;
  const children = Array.from({ length: count }, (_, i) => ({
    namespace: `n${i}`,
    version: '1',
    description: '',
    hash: hash(`${path}.${i}`),
  }));
  const h = hash(path || 'root');
  return { namespace: path.split('.').pop() || 'big', version: '1', description: pad, methods: [], children, self_hash: h, hash: h };
}

let bytes = 0;
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await new Promise((r) => wss.once('listening', r));
wss.on('connection', (ws: WebSocket) => {
  let sub = 0;
  const answer = (id: number, content: unknown) => {
    const s = ++sub;
    const metadata = { provenance: ['big'], plexus_hash: '0', timestamp: 0 };
    const frames = [
      JSON.stringify({ jsonrpc: '2.0', id, result: s }),
      JSON.stringify({
        jsonrpc: '2.0',
        method: 'result',
        params: { subscription: s, result: { type: 'data', metadata, content_type: 'big', content } },
      }),
      JSON.stringify({ jsonrpc: '2.0', method: 'result', params: { subscription: s, result: { type: 'done', metadata } } }),
    ];
    for (const f of frames) {
      bytes += f.length;
      ws.send(f);
    }
  };
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.method === '_info') return answer(msg.id, { backend: 'big' });
    const method = String(msg.params?.method ?? '');
    if (method === 'big.hash') return answer(msg.id, { event: 'hash', value: hash('root') });
    const m = /^big\.(?:(.*)\.)?schema$/.exec(method);
    if (m) answer(msg.id, schema(m[1] ?? ''));
  });
});
const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;

const before = await live();
const hub = new DynamicHub('plexus');
const states: string[] = [];
const mount = mountRemote(hub, 'big', url, { watchMs: 0, onState: (_m, s, d) => states.push(`${s} ${d}`) });
await hub.ready();
if (!mount.connected) throw new Error(`the mount did not attach (${bytes} bytes sent): ${states.join('; ')}`);
const nodes = (function count(n: { children(): readonly unknown[] }): number {
  return 1 + n.children().reduce<number>((a, c) => a + count(c as typeof n), 0);
})(mount);
const held = (await live()) - before;
console.log(
  `mount at its caps: ${nodes} activations, ${(bytes / MiB).toFixed(2)} MiB of frames read → ${(held / MiB).toFixed(1)} MiB live (heap + external)`,
);
hub.unregister('big');
wss.close();
process.exit(0);
