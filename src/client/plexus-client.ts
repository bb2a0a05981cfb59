import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import type { RequestItem, StreamItem, WireForm } from '../wire/items.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import { itemOutcome } from '../wire/outcome.js';
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
  /**
   * The server's root name, the prefix of its wire methods (`plexus.call`). Without
   * it the client asks the server (`_info`) once, on the first connection.
   */
  readonly root?: string;
  /** A WebSocket implementation; defaults to `globalThis.WebSocket`, else the `ws` package. */
  readonly WebSocket?: WebSocketConstructor;
  /** Connection attempts per call before giving up (default 5), with the backoff of `backoffMs`/`maxBackoffMs` between them. */
  readonly connectAttempts?: number;
  /**
   * A hub token (`hub token create`). In Node it is sent as `Authorization: Bearer`
   * on the upgrade request; with a browser WebSocket (which cannot set headers) or
   * a given `WebSocket` implementation, as the `token` query parameter. A function is
   * asked before each connection attempt: for a credential that changes between
   * connections (the explorer's one-time owner codes).
   */
  readonly token?: string | (() => string | undefined);
  /**
   * Answers the server's mid-stream questions (`request` items): the value it returns
   * (or resolves to) is sent as the answer. Without it, or when it throws, requests
   * are declined with `{"type":"cancelled"}`.
   */
  readonly onRequest?: (request: ClientRequest) => unknown;
  /**
   * The wire form to ask the server for (`?wire=` on the URL; docs/protocol.md "Wire
   * forms"). Either way `collect`/`result` hand over the same values and throw the
   * same errors; `call` yields the items as they are.
   */
  readonly wire?: WireForm;
}

/** A question a method asks mid-stream (a `request` item), as `onRequest` gets it. */
export interface ClientRequest {
  readonly requestId: string;
  /** `requestData`: `{ prompt, schema? }` for questions asked with `ctx.request()`. */
  readonly data: unknown;
  readonly timeoutMs: number;
  /** The method whose stream asked. */
  readonly path: string;
  /**
   * Aborted when the question can no longer be answered: its `timeoutMs` passed, the
   * call ended (an `error` or `done` item, the connection lost) or the caller stopped
   * reading. `signal.reason` says which, for a person; at the timeout it is a
   * `DOMException` named `TimeoutError`. An answer given after that is not sent.
   */
  readonly signal: AbortSignal;
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

/** `1.5 s`, `30 s`: a request's timeout, for a person. */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
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
  /** Questions being answered: each is told when the call ends. */
  readonly #questions = new Set<AbortController>();

  constructor(
    private readonly rpc: RpcConnection,
    private readonly method: string,
  ) {}

  subscribed(sub: number): void {
    this.sub = sub;
    if (this.#left) this.rpc.unsubscribe(this.method, sub);
  }

  /** Aborts `question` when the call ends, until `done` is called. */
  watch(question: AbortController): () => void {
    this.#questions.add(question);
    return () => this.#questions.delete(question);
  }

  #endQuestions(why: string): void {
    for (const q of this.#questions) q.abort(new Error(why));
    this.#questions.clear();
  }

  deliver(item: StreamItem): void {
    if (item.type === 'error' || item.type === 'done') this.#endQuestions('the call ended');
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(item);
    } else this.items.push(item);
  }

  fail(err: Error): void {
    this.#endQuestions('the connection was lost');
    this.failure = err;
    this.waiter?.reject(err);
    this.waiter = undefined;
  }

  end(): void {
    this.#endQuestions('the call was cancelled');
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
  #root: string | undefined;
  #discovery: Promise<string> | undefined;
  #connection: Promise<Connection> | undefined;
  #closedByUser = false;

  constructor(readonly options: ClientOptions) {
    if (options.root !== undefined) this.#root = options.root;
  }

  /**
   * The root name: the one given, else the one `_info` reported, else (before the
   * first call discovered it) `plexus`. `rootName()` waits for the discovery.
   */
  get root(): string {
    return this.#root ?? 'plexus';
  }

  /**
   * The server's root name: the one given, else asked once with `_info` (the one
   * wire method whose name does not depend on it). A server without `_info`
   * (method not found) is taken to be `plexus`.
   */
  async rootName(): Promise<string> {
    if (this.#root !== undefined) return this.#root;
    this.#discovery ??= this.info().then(
      (info) => {
        if (typeof info?.backend !== 'string' || info.backend === '')
          throw new PlexusError(ErrorCode.InternalError, '_info named no root (backend)');
        return (this.#root = info.backend);
      },
      (err: unknown) => {
        if (err instanceof PlexusError && err.code === ErrorCode.MethodNotFound) return (this.#root = 'plexus');
        throw err;
      },
    );
    // A failed discovery (a lost connection, say) is tried again by the next call.
    return this.#discovery.catch((err: unknown) => {
      this.#discovery = undefined;
      throw err;
    });
  }

  /** Streams the items of a call; stop iterating (or abort) to cancel it on the server. */
  async *call(path: string, params: Record<string, unknown> = {}, options: ClientCallOptions = {}): AsyncGenerator<StreamItem> {
    // #root directly once known: awaiting rootName() would defer the call by a tick, and an
    // abort in that tick would fail the call instead of ending its stream.
    const root = this.#root ?? (await this.rootName());
    yield* this.#stream(`${root}.call`, { method: path, params }, options, path);
  }

  /** The data contents of a call, all of them; an `error` item throws `PlexusError` (numeric code). */
  async collect<T = unknown>(path: string, params: Record<string, unknown> = {}, options: ClientCallOptions = {}): Promise<T[]> {
    const root = this.#root ?? (await this.rootName());
    return (await this.#contents(`${root}.call`, { method: path, params }, options, path)) as T[];
  }

  /** The single result of a unary call (the first data item). */
  async result<T = unknown>(path: string, params: Record<string, unknown> = {}, options: ClientCallOptions = {}): Promise<T> {
    const [first] = await this.#contents(`${this.#root ?? (await this.rootName())}.call`, { method: path, params }, options, path, true);
    return first as T;
  }

  /** The schema of the root, an activation (`solar.earth`) or a method (`echo.echo`). */
  async schema(path?: string): Promise<PluginSchema | MethodSchema> {
    const root = this.#root ?? (await this.rootName());
    if (!path || path === root) {
      const [schema] = await this.#contents(`${root}.schema`, []);
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
    const [event] = await this.#contents(`${this.#root ?? (await this.rootName())}.hash`, []);
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

  async #contents(method: string, params: unknown, options: ClientCallOptions = {}, path = method, unary = false): Promise<unknown[]> {
    const out: unknown[] = [];
    for await (const item of this.#stream(method, params, options, path)) {
      const outcome = itemOutcome(item, unary);
      if (outcome) out.push(outcome.value);
    }
    return out;
  }

  async #answer(conn: Connection, queue: ItemQueue, item: RequestItem, path: string): Promise<void> {
    let answer: unknown = CANCELLED_ANSWER;
    if (this.options.onRequest) {
      // The question ends at its timeout or with the call, so a prompt never waits for an answer nobody takes.
      const question = new AbortController();
      const unwatch = queue.watch(question);
      const timeout =
        item.timeoutMs > 0 && Number.isFinite(item.timeoutMs)
          ? setTimeout(
              () => question.abort(new DOMException(`the question timed out after ${formatSeconds(item.timeoutMs)}`, 'TimeoutError')),
              item.timeoutMs,
            )
          : undefined;
      try {
        answer = await this.options.onRequest({
          requestId: item.requestId,
          data: item.requestData,
          timeoutMs: item.timeoutMs,
          path,
          signal: question.signal,
        });
      } catch {
        answer = CANCELLED_ANSWER;
      } finally {
        clearTimeout(timeout);
        unwatch();
      }
      if (question.signal.aborted) return;
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
        if (item.type === 'request') await this.#answer(conn, queue, item, path);
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
    const credential = this.options.token;
    const inNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
    // In Node, a token goes in a header, which needs the `ws` package (the global WebSocket cannot send headers).
    const headerToken = credential !== undefined && !this.options.WebSocket && inNode;
    const Impl =
      this.options.WebSocket ??
      (headerToken ? undefined : (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket) ??
      ((await import('ws')).WebSocket as unknown as WebSocketConstructor);
    let target = this.options.url;
    if (this.options.wire && this.options.wire !== 'legacy') {
      const url = new URL(target);
      url.searchParams.set('wire', this.options.wire);
      target = url.href;
    }
    const open = (): WebSocketLike => {
      const token = typeof credential === 'function' ? credential() : credential;
      if (token === undefined) return new Impl(target);
      if (headerToken)
        return new (Impl as unknown as new (url: string, o: object) => WebSocketLike)(target, {
          headers: { authorization: `Bearer ${token}` },
        });
      const url = new URL(target);
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
