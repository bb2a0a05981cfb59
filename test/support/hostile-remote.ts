/**
 * A remote hub that misbehaves, for the tests of what a mount accepts: a raw `ws`
 * peer that speaks just enough of the protocol (subscribe answers, items) and does
 * whatever its behaviour says with each request — never answer, describe an endless
 * tree, flood items nobody asked for. It can be dialled (`hostileServer`, for
 * `--mount`) or dial a parent and join it (`hostileJoin`, for `--allow-join`).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { callItems, until } from './federation.js';
import { startHub, type HubProcess } from './hub-process.js';

export interface Request {
  readonly id: number;
  readonly method: string;
  readonly params: any;
}

/** One connection to the hub under test, as the hostile remote sees it. */
export class HostilePeer {
  /** Subscription ids handed out so far (the next one is this + 1). */
  #sub = 0;
  /** Every request the hub sent, in order. */
  readonly requests: Request[] = [];
  /** Resolves with the close code once the hub (or anyone) closed the socket. */
  readonly closed: Promise<number>;

  constructor(
    readonly ws: WebSocket,
    behaviour: Behaviour,
  ) {
    this.closed = new Promise((r) => ws.once('close', (code) => r(code)));
    ws.on('error', () => {});
    ws.on('message', (data) => {
      let msg: any;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (typeof msg.method !== 'string' || typeof msg.id !== 'number') return;
      const req = { id: msg.id, method: msg.method, params: msg.params };
      this.requests.push(req);
      behaviour(req, this);
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Answers a subscribe with a fresh subscription id. */
  subscribe(id: number): number {
    const sub = ++this.#sub;
    this.send({ jsonrpc: '2.0', id, result: sub });
    return sub;
  }

  /** One stream item for subscription `sub` (asked for or not). */
  item(sub: number, item: Record<string, unknown>): void {
    this.send({ jsonrpc: '2.0', method: 'result', params: { subscription: sub, result: item } });
  }

  /** A whole unary answer: subscribe, one data item, done. */
  answer(id: number, content: unknown, path = 'evil'): void {
    const sub = this.subscribe(id);
    const metadata = { provenance: ['evil'], plexus_hash: '0000000000000000', timestamp: 0 };
    this.item(sub, { type: 'data', metadata, content_type: path, content });
    this.item(sub, { type: 'done', metadata });
  }

  send(msg: unknown): void {
    if (this.open) this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }
}

export type Behaviour = (req: Request, peer: HostilePeer) => void;

/** A hash-shaped string (16 hex digits) of anything. */
export function fakeHash(of: string): string {
  return createHash('sha256').update(of).digest('hex').slice(0, 16);
}

/** An activation schema as a hub describes one. */
export function schemaOf(
  namespace: string,
  { hash = fakeHash(namespace), children = [] as { namespace: string; hash: string }[], methods = [] as unknown[] } = {},
): Record<string, unknown> {
  return {
    namespace,
    version: '1.0.0',
    description: `${namespace} (hostile)`,
    methods,
    children: children.map((c) => ({ namespace: c.namespace, version: '1.0.0', description: '', hash: c.hash })),
    self_hash: hash,
    hash,
  };
}

/**
 * Answers like a hub whose root is `evil`: `_info`, `evil.hash` (what `hash()`
 * returns) and `<path>.schema` (what `schema(path)` returns; '' is the root).
 * Anything else is left unanswered.
 */
export function describing(tree: { hash(): string; schema(path: string): unknown }): Behaviour {
  return (req, peer) => {
    if (req.method === '_info') return peer.answer(req.id, { backend: 'evil' });
    if (req.method !== 'evil.call') return;
    const method = String(req.params?.method ?? '');
    if (method === 'evil.hash') return peer.answer(req.id, { event: 'hash', value: tree.hash() });
    const m = /^evil\.(?:(.*)\.)?schema$/.exec(method);
    if (m) peer.answer(req.id, tree.schema(m[1] ?? ''));
  };
}

export interface HostileServer {
  readonly url: string;
  /** Every connection the hub made, in order. */
  readonly peers: HostilePeer[];
  close(): Promise<void>;
}

/** A listening hostile remote (`--mount evil=<url>`). */
export async function hostileServer(behaviour: Behaviour, options: { maxPayload?: number } = {}): Promise<HostileServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: options.maxPayload ?? 256 * 1024 * 1024 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const peers: HostilePeer[] = [];
  wss.on('connection', (ws) => peers.push(new HostilePeer(ws, behaviour)));
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    peers,
    async close() {
      for (const p of peers) p.ws.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

/** The join token the hostile joiners hold: a join is a privileged act, so the attack starts from a peer that has one. */
export const HOSTILE_JOIN_TOKEN = 'hostile-join-token';

/** A hostile hub that dials `url` and joins it as `name` with the join token `token` (the parent must `--allow-join --join-token <token>`). */
export async function hostileJoin(url: string, name: string, behaviour: Behaviour, token = HOSTILE_JOIN_TOKEN): Promise<HostilePeer> {
  const ws = new WebSocket(url);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let joined = false;
  const peer = new HostilePeer(ws, (req, p) => {
    if (joined) behaviour(req, p);
  });
  // The join answer is the only frame that is not a request; it turns the roles around.
  ws.once('message', () => (joined = true));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: '_join', params: { name, token } }));
  return peer;
}

/**
 * Starts a hub under attack and cleans up after the file: `serve` fails instead of
 * hanging when the hub never listens, `remote` starts a hostile server, and both are
 * stopped by `after`.
 */
export function underAttack() {
  const processes: HubProcess[] = [];
  const remotes: HostileServer[] = [];
  after(async () => {
    for (const p of processes) await p.stop();
    for (const r of remotes) await r.close();
  });
  // A file that times out never runs `after`: its hubs must not outlive it.
  process.once('exit', () => {
    for (const p of processes) p.child.kill('SIGKILL');
  });
  return {
    /** `hub serve` (built-ins on unless told, so `health.check` exists), or a failure after `ms`. */
    async serve(args: string[], ms = 60_000): Promise<HubProcess> {
      let timer: NodeJS.Timeout | undefined;
      const never = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hub serve did not listen within ${ms} ms`)), ms);
      });
      try {
        const p = await Promise.race([startHub({ args }), never]);
        processes.push(p);
        return p;
      } finally {
        clearTimeout(timer);
      }
    },
    async remote(...args: Parameters<typeof hostileServer>): Promise<HostileServer> {
      const r = await hostileServer(...args);
      remotes.push(r);
      return r;
    },
  };
}

/**
 * `health.check` answers, and quickly: the local tree is served whatever the mount
 * does. (Seconds, not milliseconds: the test machine may be shared and loaded; a hub
 * blocked by its mount never answers at all.)
 */
export async function healthy(hub: HubProcess, withinMs = 5000): Promise<void> {
  const started = Date.now();
  const items = await callItems(hub.url, 'health.check');
  const took = Date.now() - started;
  assert.ok(
    items.some((i) => i.type === 'data'),
    `health.check answered ${JSON.stringify(items)}`,
  );
  assert.ok(took < withinMs, `health.check took ${took} ms`);
}

/** Waits for a log line of `hub` matching `pattern`. */
export async function logged(hub: HubProcess, pattern: RegExp, ms = 20_000): Promise<string> {
  return until(async () => {
    const line = hub.lines.find((l) => pattern.test(l));
    if (!line) throw new Error(`no line matching ${pattern} in:\n${hub.output()}`);
    return line;
  }, ms);
}

/** A tree with no end: every node has one child `a`, with a fresh hash each time it is asked. */
export const endlessChain = describing({
  hash: () => fakeHash(String(Math.random())),
  schema: (path) => schemaOf(path.split('.').pop() || 'evil', { children: [{ namespace: 'a', hash: fakeHash(String(Math.random())) }] }),
});
