import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import type { RequestItem, StreamItem } from '../wire/items.js';
import { PlexusError, errorItemCode } from '../wire/errors.js';
import { CANCELLED_ANSWER, respondParams } from '../wire/jsonrpc.js';
import { backoff, type BackoffOptions } from './backoff.js';
import { RpcConnection, type Subscriber } from './rpc-connection.js';

/** The subset of the WebSocket API the client uses: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions extends BackoffOptions {
  /** e.g. `ws://127.0.0.1:4444` */
  readonly url: string;
  /** The server's root name (default `plexus`). */
  readonly root?: string;
  /** A WebSocket implementation; defaults to `globalThis.WebSocket`, else the `ws` package. */
  readonly WebSocket?: WebSocketConstructor;
  /** Connection attempts per call before giving up (default 5), with the backoff of `backoffMs`/`maxBackoffMs` between them. */
  readonly connectAttempts?: number;
  /**
   * A hub token (`hub token create`). In Node it is sent as `Authorization: Bearer`
   * on the upgrade request; with a browser WebSocket (which cannot set headers) or
   * a given `WebSocket` implementation, as the `token` query parameter.
   */
  readonly token?: string;
  /**
   * Answers the server's mid-stream questions (`request` items): the value it returns
   * (or resolves to) is sent as the answer. Without it, or when it throws, requests
   * are declined with `{"type":"cancelled"}`.
   */
  readonly onRequest?: (request: ClientRequest) => unknown;
}

/** A question a method asks mid-stream (a `request` item), as `onRequest` gets it. */
export interface ClientRequest {
  readonly requestId: string;
  /** `requestData`: `{ prompt, schema? }` for questions asked with `ctx.request()`. */
  readonly data: unknown;
  readonly timeoutMs: number;
  /** The method whose stream asked. */
  readonly path: string;
}

/** The answer that declines a request. */
export { CANCELLED_ANSWER as CANCELLED };

/** What `_info` answers. */
export interface ServerInfo {
  /** The root hub's name, the prefix of its wire methods (`plexus.call`). */
  readonly backend: string;
  readonly auth_capabilities?: { readonly mechanisms: readonly { readonly kind: string }[] };
}

export interface ClientCallOptions {
  readonly signal?: AbortSignal;
}

/** What an upgrade refused by the hub's auth means, in words (the `ws` package only gives the status). */
function explainRefusal(message: string): string {
  const status = /Unexpected server response: (\d+)/.exec(message)?.[1];
  if (status === '401')
    return 'authentication failed (HTTP 401): the hub does not accept this token (unknown, revoked, expired or for another hub)';
  if (status === '429') return 'too many failed authentications from this address (HTTP 429): try again later';
  if (status === '403') return 'forbidden (HTTP 403)';
  return message;
}

/** The connection went away (or never came) while a call needed it. */
export class PlexusConnectionError extends Error {
  override readonly name = 'PlexusConnectionError';
}

/** Items of one subscription, in arrival order, handed to one reader. */
class ItemQueue implements Subscriber {
  readonly items: StreamItem[] = [];
  waiter: { resolve(v: StreamItem | undefined): void; reject(e: Error): void } | undefined;
  failure?: Error;
  ended = false;
  /** The peer's subscription id, once the subscribe was answered. */
  sub?: number;
  #left = false;

  constructor(
    private readonly rpc: RpcConnection,
    private readonly method: string,
  ) {}

  subscribed(sub: number): void {
    this.sub = sub;
    if (this.#left) this.rpc.unsubscribe(this.method, sub);
  }

  deliver(item: StreamItem): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(item);
    } else this.items.push(item);
  }

  fail(err: Error): void {
    this.failure = err;
    this.waiter?.reject(err);
    this.waiter = undefined;
  }

  end(): void {
    this.ended = true;
    this.waiter?.resolve(undefined);
    this.waiter = undefined;
  }

  /** The reader stopped before the end: cancel the call at the server, now or once it is subscribed. */
  leave(): void {
    this.#left = true;
    if (this.sub !== undefined) this.rpc.unsubscribe(this.method, this.sub);
  }

  next(): Promise<StreamItem | undefined> {
    const item = this.items.shift();
    if (item) return Promise.resolve(item);
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

/** One open WebSocket and the protocol on it. */
class Connection {
  readonly rpc: RpcConnection;

  constructor(
    readonly ws: WebSocketLike,
    onClose: () => void,
  ) {
    this.rpc = new RpcConnection(
      (frame) => ws.send(frame),
      (reason) => new PlexusConnectionError(reason),
      // A server that sends items for subscriptions never asked for is dropped (no code: browsers allow few).
      () => ws.close(),
    );
    ws.onmessage = (ev) => this.rpc.receive(String(ev.data));
    ws.onclose = (ev) => {
      this.rpc.close(`Connection closed${ev.code ? ` (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})` : ''}`);
      onClose();
    };
  }
}

/**
 * A Plexus RPC client over WebSocket, for Node and browsers. Connects on first
 * use; when the connection drops, in-flight calls fail with
 * `PlexusConnectionError` and the next call reconnects (with backoff).
 */
export class PlexusClient {
  readonly root: string;
  #connection: Promise<Connection> | undefined;
  #closedByUser = false;

  constructor(readonly options: ClientOptions) {
    this.root = options.root ?? 'plexus';
  }

  /** Streams the items of a call; stop iterating (or abort) to cancel it on the server. */
  async *call(path: string, params: Record<string, unknown> = {}, options: ClientCallOptions = {}): AsyncGenerator<StreamItem> {
    yield* this.#stream(`${this.root}.call`, { method: path, params }, options, path);
  }

  /** The data contents of a call, all of them; an `error` item throws `PlexusError` (numeric code). */
  async collect<T = unknown>(path: string, params: Record<string, unknown> = {}, options: ClientCallOptions = {}): Promise<T[]> {
    return (await this.#contents(`${this.root}.call`, { method: path, params }, options, path)) as T[];
  }

  /** The single result of a unary call (the first data item). */
  async result<T = unknown>(path: string, params: Record<string, unknown> = {}, options: ClientCallOptions = {}): Promise<T> {
    const [first] = await this.collect<T>(path, params, options);
    return first as T;
  }

  /** The schema of the root, an activation (`solar.earth`) or a method (`echo.echo`). */
  async schema(path?: string): Promise<PluginSchema | MethodSchema> {
    if (!path || path === this.root) {
      const [schema] = await this.#contents(`${this.root}.schema`, []);
      return schema as PluginSchema;
    }
    try {
      return await this.result<PluginSchema>(`${path}.schema`);
    } catch (err) {
      // `echo.echo` names a method: ask its activation.
      const dot = path.lastIndexOf('.');
      if (!(err instanceof PlexusError) || dot < 0) throw err;
      return this.result<MethodSchema>(`${path.slice(0, dot)}.schema`, { method: path.slice(dot + 1) });
    }
  }

  /** The root hash. */
  async hash(): Promise<string> {
    const [event] = await this.#contents(`${this.root}.hash`, []);
    return (event as { value: string }).value;
  }

  /** The server's `_info`: its root name (`backend`) and auth mechanisms; works before the root name is known. */
  async info(): Promise<ServerInfo> {
    const [info] = await this.#contents('_info', []);
    return info as ServerInfo;
  }

  close(): void {
    this.#closedByUser = true;
    void this.#connection?.then(
      (c) => c.ws.close(1000, 'client closed'),
      () => {},
    );
    this.#connection = undefined;
  }

  async #contents(method: string, params: unknown, options: ClientCallOptions = {}, path = method): Promise<unknown[]> {
    const out: unknown[] = [];
    for await (const item of this.#stream(method, params, options, path)) {
      if (item.type === 'data') out.push(item.content);
      else if (item.type === 'error') throw new PlexusError(errorItemCode(item.code), item.message, item.recoverable);
    }
    return out;
  }

  async #answer(conn: Connection, item: RequestItem, path: string): Promise<void> {
    let answer: unknown = CANCELLED_ANSWER;
    if (this.options.onRequest) {
      try {
        answer = await this.options.onRequest({ requestId: item.requestId, data: item.requestData, timeoutMs: item.timeoutMs, path });
      } catch {
        answer = CANCELLED_ANSWER;
      }
    }
    // A refused answer (expired, invalid) also fails the request on the server: the stream tells what follows.
    await conn.rpc.request(`${this.root}.respond`, respondParams(item.requestId, answer)).catch(() => {});
  }

  async *#stream(method: string, params: unknown, { signal }: ClientCallOptions, path = method): AsyncGenerator<StreamItem> {
    signal?.throwIfAborted();
    const conn = await this.#connect();
    const queue = new ItemQueue(conn.rpc, method);
    conn.rpc.subscribe(method, params, queue);
    const onAbort = (): void => queue.end();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) queue.end(); // aborted while connecting
    let finished = false;
    try {
      for (;;) {
        const item = await queue.next();
        if (!item) break;
        if (item.type === 'done' || item.type === 'error') finished = true;
        if (item.type === 'request') await this.#answer(conn, item, path);
        yield item;
        if (finished) break;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!finished) queue.leave();
    }
  }

  #connect(): Promise<Connection> {
    if (this.#closedByUser) return Promise.reject(new PlexusConnectionError('Client is closed'));
    if (!this.#connection) {
      const attempt = (this.#connection = this.#open());
      attempt.catch(() => {
        if (this.#connection === attempt) this.#connection = undefined;
      });
    }
    return this.#connection;
  }

  async #open(): Promise<Connection> {
    const token = this.options.token;
    const inNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
    // In Node, a token goes in a header, which needs the `ws` package (the global WebSocket cannot send headers).
    const headerToken = token !== undefined && !this.options.WebSocket && inNode;
    const Impl =
      this.options.WebSocket ??
      (headerToken ? undefined : (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket) ??
      ((await import('ws')).WebSocket as unknown as WebSocketConstructor);
    const open = (): WebSocketLike => {
      if (token === undefined) return new Impl(this.options.url);
      if (headerToken)
        return new (Impl as unknown as new (url: string, o: object) => WebSocketLike)(this.options.url, {
          headers: { authorization: `Bearer ${token}` },
        });
      const url = new URL(this.options.url);
      url.searchParams.set('token', token);
      return new Impl(url.href);
    };
    const attempts = this.options.connectAttempts ?? 5;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await backoff(i - 1, this.options);
      try {
        return await new Promise<Connection>((resolve, reject) => {
          const ws = open();
          ws.onopen = () => {
            ws.onerror = null;
            resolve(
              new Connection(ws, () => {
                void this.#connection?.then((c) => {
                  if (c.ws === ws) this.#connection = undefined;
                });
              }),
            );
          };
          ws.onerror = (ev) =>
            reject(
              new PlexusConnectionError(
                `Cannot connect to ${this.options.url}: ${explainRefusal((ev as { message?: string }).message ?? 'connection failed')}`,
              ),
            );
          ws.onclose = () => reject(new PlexusConnectionError(`Cannot connect to ${this.options.url}`));
        });
      } catch (err) {
        last = err;
        // A refused credential stays refused; retrying only trips the server's failed-auth limit.
        if (/\(HTTP (401|403|429)\)/.test((err as Error).message)) break;
      }
    }
    throw last;
  }
}
