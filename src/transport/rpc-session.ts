import type { Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import type { CallStream } from '../stream/call-stream.js';
import type { StreamItem } from '../stream/items.js';
import { ErrorCode } from '../hub/errors.js';
import { errorResponse, itemNotification, JsonRpcError, parseRequest, resultResponse, type JsonRpcRequest, type RequestId } from './jsonrpc.js';

/** Where a session writes, with the peer's backpressure. */
export interface MessageSink {
  send(message: string): void;
  /** True while the peer is not keeping up; producers then wait for `drained()`. */
  congested(): boolean;
  drained(): Promise<void>;
}

export interface SessionLimits {
  /** Concurrent subscriptions per connection (default 1024). */
  readonly maxStreams?: number;
}

export interface SessionOptions extends SessionLimits {
  /** Who this connection is (the transport authenticated it); every call is checked as this principal. */
  readonly principal?: Principal;
}

export const DEFAULT_MAX_STREAMS = 1024;

interface Subscription {
  readonly id: number;
  readonly stream: CallStream;
}

/**
 * The Plexus RPC JSON-RPC protocol for one connection, independent of the
 * transport (WebSocket, stdio): subscriptions, their items, unsubscribe,
 * limits and error answers.
 */
export class RpcSession {
  readonly #subs = new Map<number, Subscription>();
  readonly #methods: ReadonlyMap<string, (req: JsonRpcRequest) => void>;
  readonly #maxStreams: number;
  #nextId = 1;
  #closed = false;
  #draining = false;

  constructor(
    hub: DynamicHub,
    private readonly sink: MessageSink,
    options: SessionOptions = {},
  ) {
    this.#maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    const root = hub.namespace;
    const as = { principal: options.principal };
    this.#methods = new Map<string, (req: JsonRpcRequest) => void>([
      [`${root}.call`, (req) => this.#subscribe(req, () => {
        const [method, params] = this.#callParams(req.params);
        return hub.call(method, params, as);
      })],
      [`${root}.schema`, (req) => this.#subscribe(req, () => hub.call(`${root}.schema`, this.#optionalObject(req.params), as))],
      [`${root}.hash`, (req) => this.#subscribe(req, () => hub.call(`${root}.hash`, this.#noParams(req.params), as))],
      ['_info', (req) => this.#subscribe(req, () => (this.#noParams(req.params), hub.info()))],
      [`${root}.call_unsub`, (req) => this.#unsubscribe(req)],
      [`${root}.schema_unsub`, (req) => this.#unsubscribe(req)],
      [`${root}.hash_unsub`, (req) => this.#unsubscribe(req)],
      ['_info_unsub', (req) => this.#unsubscribe(req)],
      [`${root}.respond`, (req) => this.#reply(req.id, undefined, { code: ErrorCode.MethodNotFound, message: `Method not supported: ${root}.respond (bidirectional requests are not implemented by this server)` })],
    ]);
  }

  get activeStreams(): number {
    return this.#subs.size;
  }

  /** Handles one incoming frame. Never throws. */
  receive(text: string): void {
    if (this.#closed) return;
    const parsed = parseRequest(text);
    if ('error' in parsed) return this.sink.send(errorResponse(parsed.id, parsed.error));
    const req = parsed.request;
    const handler = this.#methods.get(req.method);
    if (!handler) return this.#reply(req.id, undefined, { code: ErrorCode.MethodNotFound, message: `Method not found: ${req.method}` });
    try {
      handler(req);
    } catch (err) {
      const e = err instanceof JsonRpcError ? err : new JsonRpcError(ErrorCode.InternalError, `Internal error: ${(err as Error).message}`);
      this.#reply(req.id, undefined, { code: e.code, message: e.message });
    }
  }

  /** An answer to a non-binary-safe frame (the transport tells us). */
  rejectBinary(): void {
    this.sink.send(errorResponse(null, { code: ErrorCode.InvalidRequest, message: 'Invalid request: binary frames are not supported; send JSON text frames' }));
  }

  /** Shutdown has begun: running streams continue, new ones are refused. */
  drain(): void {
    this.#draining = true;
  }

  /** Cancels every stream (connection closed). */
  close(): void {
    this.#closed = true;
    for (const sub of this.#subs.values()) sub.stream.cancel();
    this.#subs.clear();
  }

  /** Resolves when no stream is left (for graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#subs.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  #reply(id: RequestId | undefined, result: unknown, error?: { code: number; message: string }): void {
    if (id === undefined) return; // a notification gets no answer
    this.sink.send(error ? errorResponse(id, error) : resultResponse(id, result));
  }

  #callParams(params: unknown): [string, unknown] {
    let method: unknown;
    let inner: unknown;
    if (Array.isArray(params)) [method, inner] = params;
    else if (params && typeof params === 'object') ({ method, params: inner } = params as { method?: unknown; params?: unknown });
    else throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: expected {"method": "<dot.path>", "params": {...}}');
    if (typeof method !== 'string') throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: "method" must be a string dot path, e.g. "echo.echo"');
    if (inner !== undefined && inner !== null && (typeof inner !== 'object' || Array.isArray(inner))) {
      throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: "params" must be an object');
    }
    return [method, inner ?? {}];
  }

  #noParams(params: unknown): Record<string, never> {
    const empty = params === undefined || (Array.isArray(params) && params.length === 0) || (typeof params === 'object' && params !== null && Object.keys(params).length === 0);
    if (!empty) throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: this method takes no params');
    return {};
  }

  #optionalObject(params: unknown): unknown {
    if (params === undefined || (Array.isArray(params) && params.length === 0)) return {};
    if (Array.isArray(params)) throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: expected an object or none');
    return params;
  }

  #subscribe(req: JsonRpcRequest, open: () => CallStream): void {
    if (req.id === undefined) return; // a subscription needs an id to answer with
    if (this.#draining) throw new JsonRpcError(ErrorCode.ExecutionError, 'Server is shutting down: no new streams');
    if (this.#subs.size >= this.#maxStreams) {
      throw new JsonRpcError(ErrorCode.TooManyStreams, `Too many streams: this connection already has ${this.#maxStreams} open (the limit)`);
    }
    const stream = open();
    const id = this.#nextId++;
    const sub = { id, stream };
    this.#subs.set(id, sub);
    this.#reply(req.id, id);
    // A method that answers at once (most unary calls) is sent right here; only a
    // stream that has to wait gets an async pump.
    if (!this.#drain(sub)) void this.#pump(sub);
  }

  /** Sends one item; true when it ended the stream (the subscription is then gone). */
  #send(sub: Subscription, item: StreamItem): boolean {
    this.sink.send(itemNotification(sub.id, item));
    if (item.type !== 'done') return false;
    this.#subs.delete(sub.id);
    return true;
  }

  /** Sends every ready item; true when the stream has ended. */
  #drain(sub: Subscription): boolean {
    while (!this.sink.congested()) {
      const item = sub.stream.poll();
      if (!item) return false;
      if (this.#send(sub, item)) return true;
    }
    return false;
  }

  #unsubscribe(req: JsonRpcRequest): void {
    const p = req.params;
    const raw = Array.isArray(p) ? p[0] : p && typeof p === 'object' ? (p as { subscription?: unknown }).subscription : undefined;
    if (typeof raw !== 'number' && typeof raw !== 'string') {
      throw new JsonRpcError(ErrorCode.InvalidParams, 'Invalid params: expected [<subscription id>]');
    }
    const sub = this.#subs.get(Number(raw));
    if (sub) {
      this.#subs.delete(sub.id);
      sub.stream.cancel();
    }
    this.#reply(req.id, sub !== undefined);
  }

  /** Moves items from the stream to the peer, pausing while the peer is congested. */
  async #pump(sub: Subscription): Promise<void> {
    const { id, stream } = sub;
    try {
      for (;;) {
        if (this.sink.congested()) await this.sink.drained();
        // Items that are ready go out synchronously; only an empty queue waits.
        let item = stream.poll();
        if (!item) {
          const r = await stream.next();
          if (r.done) break;
          item = r.value;
        }
        if (!this.#subs.has(id) || this.#send(sub, item)) break;
      }
    } finally {
      this.#subs.delete(id);
    }
  }
}
