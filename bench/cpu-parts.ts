// The per-component breakdown of the `cpu` workload (bench/cpu.ts), printed when a
// goal is missed: each part of what required auth and the relay add to a call,
// measured on its own in this process (CPU µs per operation, the median of 5 loops).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { recordCall } from '../src/auth/audit-call.js';
import { AuditLog, chainHash, GENESIS } from '../src/auth/audit-log.js';
import { parseGrant } from '../src/auth/grants.js';
import { HubAuth } from '../src/auth/hub-auth.js';
import { TokenPrincipal } from '../src/auth/principal.js';
import { redact } from '../src/auth/redact.js';
import { TokenStore } from '../src/auth/token-store.js';
import { RelayStream } from '../src/federation/relay-stream.js';
import { DynamicHub } from '../src/index.js';
import { ItemFactory } from '../src/stream/item-factory.js';
import { itemNotification, requestFrame } from '../src/wire/jsonrpc.js';
import { WebSocketSink } from '../src/transport/websocket-link.js';
import { Echo } from '../activations/echo.js';
import type { MethodInfo } from '../src/activation/types.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** CPU µs of this process's main thread (process.cpuUsage() would add the audit writer's and GC helpers'). */
const cpuNow = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;

/** CPU µs per call of `fn`, the median of 5 loops of `n`. */
function perOp(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < n; i++) fn(i); // warm
  const xs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = cpuNow();
    for (let i = 0; i < n; i++) fn(i);
    xs.push((cpuNow() - t0) / n);
  }
  return median(xs);
}

async function perOpAsync(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < n; i++) await fn(i);
  const xs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = cpuNow();
    for (let i = 0; i < n; i++) await fn(i);
    xs.push((cpuNow() - t0) / n);
  }
  return median(xs);
}

/** CPU µs of each thread of this process but the main one, by thread id. */
function otherThreads(): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of readdirSync('/proc/self/task')) {
    if (Number(task) === process.pid) continue;
    try {
      out.set(task, Number(readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0]) / 1000);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU µs the busiest other thread spent since `before` (the audit writer; GC helpers spread thinner). */
function writerMicrosSince(before: Map<string, number>): number {
  let max = 0;
  for (const [task, us] of otherThreads()) max = Math.max(max, us - (before.get(task) ?? 0));
  return max;
}

export interface CpuParts {
  /** µs per unary call (auth) or per call / per item (relay). */
  readonly auth: Record<string, number>;
  readonly relay: Record<string, number>;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}

async function authParts(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-parts-'));
  try {
    const store = new TokenStore(dir);
    const { record } = store.create({ name: 'bench', hub: 'plexus', grants: [parseGrant('echo.*:read')] });
    const principal = new TokenPrincipal(store, record, 'ws', '127.0.0.1');
    const params = { message: 'hi' };
    const out: Record<string, number> = {};
    out['access check (memoised decision)'] = perOp(200_000, () => principal.allows('echo.once', ['read']));
    out.redaction = perOp(200_000, () => redact(params));
    const body = JSON.stringify({
      duration_ms: 0.042,
      event: 'call',
      items: 1,
      outcome: 'ok',
      params,
      path: 'echo.once',
      principal: 'bench',
      remote: '127.0.0.1',
      seq: 12345,
      time: new Date().toISOString(),
      token_id: 'tok_0123456789ab',
      transport: 'ws',
      verbs: ['read'],
    });
    out['hash (SHA-256 of prev ‖ record)'] = perOp(200_000, () => chainHash(GENESIS, body));
    const log = new AuditLog(join(dir, 'parts', 'audit.jsonl'));
    const echoOnce = { name: 'once', verbs: ['read' as const] } as unknown as MethodInfo;
    // A call's record as the hub makes it: canonical text from per-caller parts (audit-call.ts).
    const observed = { principal, path: 'echo.once', params, method: () => echoOnce, abort: () => {} };
    const end = { items: 1, cancelled: false };
    const started = performance.now();
    out['record build + serialise (hub thread, batch hand-off amortised)'] = perOp(50_000, () =>
      recordCall(log, principal, observed, end, started),
    );
    log.flush();
    const before = otherThreads();
    const n = 100_000;
    for (let i = 0; i < n; i++) recordCall(log, principal, observed, end, started);
    log.flush();
    out['append: chain + write (writer thread)'] = writerMicrosSince(before) / n;
    log.close();
    // The whole of it through a hub in process (no socket): required auth against open.
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir });
    const guarded = new DynamicHub('plexus', { policy: auth }).register(new Echo());
    const open = new DynamicHub('plexus').register(new Echo());
    await guarded.ready();
    await open.ready();
    const openCall = await perOpAsync(20_000, () => drain(open.call('echo.once', params, { principal: undefined })));
    const before2 = otherThreads();
    const authCall = await perOpAsync(20_000, () => drain(guarded.call('echo.once', params, { principal })));
    auth.audit!.flush();
    const writer = writerMicrosSince(before2) / 120_000;
    out['in process, open hub.call(echo.once) (reference)'] = openCall;
    out['in process, required auth hub.call(echo.once), hub thread'] = authCall;
    out['in process, required auth: writer thread per call'] = writer;
    auth.close();
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A peer in its own process that reads and discards: what writing costs the writer alone. */
async function sinkPeer(): Promise<{ url: string; stop(): void }> {
  const code = `import('ws').then(({ WebSocketServer }) => { const w = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false }); w.on('connection', (s) => s.on('message', () => {})); w.on('listening', () => console.log('READY ' + w.address().port)); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /READY (\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    }),
  );
  return { url: `ws://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

async function relayParts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const clientFrame = '{"jsonrpc":"2.0","id":17,"method":"plexus.call","params":{"method":"b.echo.once","params":{"message":"hi"}}}';
  const metadata = '{"provenance":["echo"],"plexus_hash":"2689581b7e59ceb7","timestamp":1796361739}';
  const dataFrame = `{"jsonrpc":"2.0","method":"result","params":{"subscription":5,"result":{"type":"data","metadata":${metadata},"content_type":"echo.echo","content":{"message":"hi","seq":1}}}}`;
  const at = dataFrame.indexOf('{"type":');
  out['parse: the client request (JSON.parse), per call'] = perOp(200_000, () => JSON.parse(clientFrame));
  const conn = { queued() {}, consumed() {} } as never;
  out['parse: decode the first item of a call (its metadata parsed), per call'] = perOp(200_000, () =>
    new RelayStream(conn, 'echo.once', { remoteRoot: 'plexus' }).decode(dataFrame, at),
  );
  const located = new RelayStream(conn, 'echo.echo', { remoteRoot: 'plexus' });
  located.deliver(located.decode(dataFrame, at)!, dataFrame.length);
  void located.next();
  out['parse: cut a later item out of its frame, per item'] = perOp(500_000, () => located.decode(dataFrame, at));
  out['frame: the request to B, per call'] = perOp(200_000, (i) =>
    requestFrame(i, 'plexus.call', { method: 'echo.once', params: { message: 'hi' } }),
  );
  const factory = new ItemFactory(['plexus', 'b'], 'b.echo.echo', () => '2689581b7e59ceb7');
  const json = '{"message":"hi","seq":1}';
  out['frame: a relayed item for the client (raw content), per item'] = perOp(500_000, (i) => itemNotification(i, factory.rawData(json)));
  const open = new DynamicHub('plexus').register(new Echo());
  await open.ready();
  out['route + call stream: in-process hub.call(echo.once), per call (reference)'] = await perOpAsync(20_000, () =>
    drain(open.call('echo.once', { message: 'hi' })),
  );
  // write: frames through the served connections' sink (corked per turn) to a peer in another process.
  const peer = await sinkPeer();
  try {
    const ws = new WebSocket(peer.url, { perMessageDeflate: false });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const sink = new WebSocketSink(ws, (ws as unknown as { _socket: Socket })._socket, 64 * 1024 * 1024);
    const frame = itemNotification(3, factory.rawData(json));
    const xs: number[] = [];
    for (let r = 0; r < 6; r++) {
      const t0 = cpuNow();
      for (let i = 0; i < 20_000; i++) {
        sink.send(frame);
        if (i % 64 === 63) await new Promise((res) => setImmediate(res)); // a turn: the sink uncorks
      }
      await new Promise((res) => setImmediate(res));
      if (r > 0) xs.push((cpuNow() - t0) / 20_000);
    }
    out['write: ws frame + socket write (corked per turn), per frame'] = median(xs);
    ws.close();
  } finally {
    peer.stop();
  }
  return out;
}

export async function cpuParts(): Promise<CpuParts> {
  return { auth: await authParts(), relay: await relayParts() };
}

export function cpuPartsTable(parts: CpuParts): string {
  const lines = ['per-component breakdown (each part on its own, in process, CPU µs per operation):', '  required auth, per unary call:'];
  for (const [k, v] of Object.entries(parts.auth)) lines.push(`    ${k.padEnd(66)} ${v.toFixed(2)}`);
  lines.push('  relay A:');
  for (const [k, v] of Object.entries(parts.relay)) lines.push(`    ${k.padEnd(66)} ${v.toFixed(2)}`);
  return lines.join('\n');
}
