/**
 * The one place every HTTP request and WebSocket upgrade of our servers goes
 * through before its handler: a request of any shape gets an answer (400 when its
 * handler throws) and never takes the process down.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void | Promise<void>;

/** The request's path without the query. Never throws (`new URL` does on `//a:b`). */
export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function failureMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

/** Answers a failed request with 400 (or the error's `status`) unless the answer already began. */
function answerFailure(res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const status = (err as { status?: unknown }).status;
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32600, message: `Bad request: ${failureMessage(err)}` }, id: null });
  res
    .writeHead(typeof status === 'number' && status >= 400 && status < 600 ? status : 400, {
      'content-type': 'application/json',
      connection: 'close',
    })
    .end(body);
}

/**
 * Wraps a request handler: a request the origin guard refuses gets 403, a throw or
 * a rejection answers 400, never an uncaught exception.
 */
export function guardRequests(handler: RequestHandler, origins?: OriginGuard): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // A reset connection emits 'error' on the request/response; nothing to answer then.
    req.on('error', () => {});
    res.on('error', () => {});
    try {
      const refused = origins?.check(req);
      if (refused) {
        res
          .writeHead(403, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: refused }, id: null }));
        return;
      }
      const done = handler(req, res);
      if (done) done.catch((err: unknown) => answerFailure(res, err));
    } catch (err) {
      answerFailure(res, err);
    }
  };
}

/** Writes a plain HTTP answer on an upgrade socket and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32600, message }, id: null });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Wraps an upgrade handler: refused by the origin guard → 403; a throw or a rejection → 400; the socket is closed. */
export function guardUpgrades(
  handler: UpgradeHandler,
  origins?: OriginGuard,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // Node removes its own error listener before 'upgrade': a reset here would otherwise be uncaught.
    socket.on('error', () => socket.destroy());
    const fail = (err: unknown) => refuseUpgrade(socket, 400, 'Bad Request', `Bad request: ${failureMessage(err)}`);
    try {
      const refused = origins?.check(req);
      if (refused) return refuseUpgrade(socket, 403, 'Forbidden', refused);
      const done = handler(req, socket, head);
      if (done) done.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

// ---- DNS rebinding: Host and Origin -------------------------------------------

export interface OriginPolicy {
  /**
   * Accepted `Host` headers beyond the defaults (the bound address with its port,
   * the loopback names with the port, and for a wildcard bind every local address
   * and the host name). An entry without a port accepts any port. `false` turns
   * the Host check off.
   */
  readonly allowedHosts?: readonly string[] | false;
  /**
   * Browser origins accepted beyond the server's own (`http(s)://<allowed host>`);
   * `*` accepts any. Requests without an `Origin` header (non-browser clients) pass.
   */
  readonly allowedOrigins?: readonly string[];
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

function bracket(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/** The Host header without its port, lower case. */
function hostName(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

/**
 * The Host/Origin rule every HTTP request and WebSocket upgrade of a server obeys,
 * whatever the bind address: a page on another site (or one that rebound its DNS
 * name to our address) can neither call `/mcp` nor open the WebSocket.
 */
export class OriginGuard {
  #hosts?: Set<string>;
  #anyPortHosts = new Set<string>();
  #origins = new Set<string>();
  #anyOrigin = false;

  constructor(private readonly policy: OriginPolicy = {}) {}

  /** Computes the accepted names once the server's address and port are known. */
  bind(address: string, port: number, interfaces: () => readonly string[] = localAddresses): void {
    const extra = this.policy.allowedHosts === false ? [] : (this.policy.allowedHosts ?? []);
    const names = new Set(LOOPBACK_NAMES);
    if (WILDCARD.has(address)) {
      for (const a of interfaces()) names.add(bracket(a));
      names.add(hostname().toLowerCase());
    } else {
      names.add(bracket(address).toLowerCase());
    }
    const hosts = new Set([...names].map((n) => `${n}:${port}`));
    for (const entry of extra) {
      const e = entry.toLowerCase();
      if (hostName(e) === e) this.#anyPortHosts.add(e);
      else hosts.add(e);
    }
    this.#hosts = this.policy.allowedHosts === false ? undefined : hosts;
    const own = [...hosts, ...this.#anyPortHosts];
    this.#origins = new Set([...own.flatMap((h) => [`http://${h}`, `https://${h}`]), ...(this.policy.allowedOrigins ?? [])]);
    this.#anyOrigin = this.policy.allowedOrigins?.includes('*') ?? false;
  }

  /** Why the request is refused, or undefined when it may go on. */
  check(req: IncomingMessage): string | undefined {
    const host = (req.headers.host ?? '').toLowerCase();
    if (this.#hosts && !this.#hosts.has(host) && !this.#anyPortHosts.has(hostName(host))) {
      return `Invalid Host header: ${host || '(none)'} (accepted: ${[...this.#hosts, ...this.#anyPortHosts].join(', ')}; add names with --allow-host)`;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#anyOrigin && !this.#origins.has(origin.toLowerCase()) && !this.#origins.has(origin)) {
      return `Invalid Origin header: ${origin} (a browser page of another origin; allow it with --allow-origin)`;
    }
    return undefined;
  }
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.toLowerCase()));
}

// ---- Connections --------------------------------------------------------------

/**
 * Caps the open TCP connections of an HTTP server, whatever they carry (WebSocket,
 * `/mcp`, the explorer): past `max` a new connection gets a `503` and is closed
 * before anything of it is read. Counting only WebSockets let 200 plain HTTP
 * connections each hold a 4 MiB body. Returns the number open.
 */
export function capConnections(server: Server, max: number): () => number {
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= max) {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        error: { code: -32000, message: `Too many connections: the server has ${max} open (the limit)` },
        id: null,
      });
      socket.on('error', () => socket.destroy());
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`,
      );
      // Whatever it sends is not read: the answer is final.
      socket.pause();
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    open++;
    socket.once('close', () => open--);
  });
  return () => open;
}
