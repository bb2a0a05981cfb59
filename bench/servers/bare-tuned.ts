// The hand-tuned baseline of the CPU workload (bench/cpu.ts): the same wire protocol
// as plexus-hub (subscribe answer, data items, done), written for the least CPU per
// message: no routing and no validation, frames built as strings with the metadata's
// JSON cached per second, the socket corked until the check phase so a burst leaves
// in one write (as plexus-hub does), items produced synchronously while the queue is
// under 1 MiB. It is what a careful hand-written server of this protocol costs.
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const HIGH_WATER = 1024 * 1024;
const wss = new WebSocketServer({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', perMessageDeflate: false });

let second = -1;
let metadataJson = '';
/** `"metadata":{…}`, remade once a second. */
function metadata(): string {
  const now = Math.floor(Date.now() / 1000);
  if (now !== second) {
    second = now;
    metadataJson = `"metadata":{"provenance":["echo"],"plexus_hash":"0000000000000000","timestamp":${now}}`;
  }
  return metadataJson;
}

const itemPrefix = (sub: number) => `{"jsonrpc":"2.0","method":"result","params":{"subscription":${sub},"result":{"type":`;

wss.on('connection', (ws: WebSocket) => {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const send = (text: string) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    ws.send(text);
  };
  let nextSub = 1;
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.method === 'plexus.call_unsub') return send(`{"jsonrpc":"2.0","id":${msg.id},"result":true}`);
    const sub = nextSub++;
    send(`{"jsonrpc":"2.0","id":${msg.id},"result":${sub}}`);
    const { method, params } = msg.params;
    const prefix = itemPrefix(sub);
    const done = () => send(`${prefix}"done",${metadata()}}}}`);
    if (method === 'echo.once') {
      send(`${prefix}"data",${metadata()},"content_type":"echo.once","content":{"message":${JSON.stringify(params.message)},"seq":1}}}}`);
      return done();
    }
    if (method === 'echo.echo') {
      const message = JSON.stringify(params.message);
      const count = params.count ?? 1;
      let seq = 1;
      const pump = () => {
        while (seq <= count) {
          if (ws.readyState !== ws.OPEN) return;
          if (ws.bufferedAmount > HIGH_WATER) return void socket.once('drain', pump);
          send(`${prefix}"data",${metadata()},"content_type":"echo.echo","content":{"message":${message},"seq":${seq++}}}}}`);
        }
        done();
      };
      return pump();
    }
    send(`${prefix}"error",${metadata()},"code":-32601,"message":"no such method"}}}`);
  });
});
wss.on('listening', () => console.log(`READY ${(wss.address() as { port: number }).port}`));
