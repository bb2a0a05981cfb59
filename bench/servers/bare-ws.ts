// The naive baseline: the same wire protocol (subscribe response, data items, done)
// with no routing, no validation and no write coalescing: one ws.send per message.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1' });
const metadata = () => ({ provenance: ['bench'], plexus_hash: '0000000000000000', timestamp: Math.floor(Date.now() / 1000) });
const note = (sub: number, result: unknown) => JSON.stringify({ jsonrpc: '2.0', method: 'result', params: { subscription: sub, result } });

wss.on('connection', (ws) => {
  let nextSub = 1;
  ws.on('message', async (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.method === 'plexus.call_unsub') return ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: true }));
    const sub = nextSub++;
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: sub }));
    const { method, params } = msg.params;
    const data_ = (content: unknown) => ws.send(note(sub, { type: 'data', metadata: metadata(), content_type: method, content }));
    if (method === 'echo.once') data_({ message: params.message, seq: 1 });
    else if (method === 'bench.items') for (let i = 0; i < params.count; i++) data_({ i });
    else if (method === 'bench.flood') {
      const chunk = 'x'.repeat(params.size);
      while (ws.readyState === ws.OPEN) {
        data_(chunk);
        await new Promise((r) => setImmediate(r));
      }
      return;
    }
    ws.send(note(sub, { type: 'done', metadata: metadata() }));
  });
});
wss.on('listening', () => console.log(`READY ${(wss.address() as { port: number }).port}`));
