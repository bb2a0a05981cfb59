import { hubAuthOf } from '../auth/hub-auth.js';
import { OwnerPrincipal } from '../auth/owner.js';
import type { Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import type { CallStream } from '../stream/call-stream.js';
import type { StreamItem } from '../wire/items.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import { ConnectionBytes } from './byte-budget.js';
import { StreamBudget } from './stream-budget.js';
import { DEFAULT_MAX_STREAMS, type MessageSink, type SessionLimits } from './types.js';
import { errorResponse, itemNotification, parseRequest, resultResponse, type JsonRpcRequest, type RequestId } from '../wire/jsonrpc.js';

export interface SessionOptions extends SessionLimits {
  /** Who this connection is (the transport authenticated it); every call is checked as this principal. */
  readonly principal?: Principal;
  /**
   * Answers `_enroll {"code"}` (redeems an enrollment code for an agent's token); it
   * needs no credential, so the transport gives it the connection's address for the
   * failed-auth limiter. Without it `_enroll` is not a method here.
   */
  readonly enroll?: (params: unknown) => unknown;
}

interface Subscription {
  readonly id: number;
  readonly stream: CallStream;
  /** Bytes of the request frame charged to the connection while the stream holds its params. */
  readonly bytes: number;
  /** Set while the peer holds this stream (`<root>.call_pause`): its pump sends nothing. */
  held?: { readonly promise: Promise<void>; readonly release: () => void };
}

/** Longest name echoed back in an error message: a 1 MiB method name must not cost a 1 MiB answer. */
export const MAX_ECHOED_NAME = 128;

/** `name` as an error message may quote it: at most MAX_ECHOED_NAME characters, then `…`. */
export function echoedName(name: string): string {
  return name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}…` : name;
}

/** Kept importable from here for code written before `transport/types.ts`. */
export { DEFAULT_MAX_STREAMS, type MessageSink, type SessionLimits } from './types.js';

/**
 * The Plexus RPC JSON-RPC protocol for one connection, independent of the
 * transport (WebSocket, stdio): subscriptions, their items, unsubscribe,
 * limits and error answers.
 *
 * Lifecycle, the same for every transport: `receive()` frames while open;
 * `shutdown(graceMs)` refuses new streams and waits (bounded) for running ones;
 * `close()` cancels whatever is left and ignores later frames.
 */
export class RpcSession {
  readonly #subs = new Map<number, Subscription>();
  readonly #methods: ReadonlyMap<string, (req: JsonRpcRequest) => void>;
  readonly #maxStreams: number;
  readonly #budget: StreamBudget;
  readonly #bytes: ConnectionBytes;
  /** Length of the frame being handled: what a stream opened by it holds. */
  #frameBytes = 0;
  #nextId = 1;
  #closed = false;
  /** Shutdown has begun: running streams continue, new ones are refused. */
  #refusing = false;
  /** Resolves `idle()` waiters when the last stream ends. */
  #idleWaiters: (() => void)[] = [];
  /** The connection reads the turn form. */
  readonly #turns: boolean;

  constructor(
    hub: DynamicHub,
    private readonly sink: MessageSink,
    options: SessionOptions = {},
  ) {
    this.#maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.#budget = options.streamBudget ?? new StreamBudget();
    this.#bytes = options.bytes ?? new ConnectionBytes();
    const root = hub.namespace;
    const as = { principal: options.principal };
    // The owner's own methods (`_approvals.*`) exist only on an owner's connection: decided
    // once per connection, so no other connection's calls pay for the check.
    const auth = options.principal instanceof OwnerPrincipal ? hubAuthOf(hub) : undefined;
    const wire = options.wire ?? 'legacy';
    this.#turns = wire === 'turns';
    this.#methods = new Map<string, (req: JsonRpcRequest) => void>([
      [
        `${root}.call`,
        (req) =>
          this.#subscribe(req, () => {
            const [method, params] = this.#callParams(req.params);
            const stream = auth?.ownerCall(hub, options.principal, method, params) ?? hub.call(method, params, as);
            return wire === 'legacy' ? stream : stream.speak(wire);
          }),
      ],
      [`${root}.schema`, (req) => this.#subscribe(req, () => hub.call(`${root}.schema`, this.#optionalObject(req.params), as))],
      [`${root}.hash`, (req) => this.#subscribe(req, () => hub.call(`${root}.hash`, this.#noParams(req.params), as))],
      [
        '_info',
        (req) =>
          this.#subscribe(req, () => {
            this.#noParams(req.params);
            return hub.info();
          }),
      ],
      ...(options.enroll ? [['_enroll', (req: JsonRpcRequest) => this.#reply(req.id, options.enroll!(req.params))] as const] : []),
      [`${root}.call_unsub`, (req) => this.#unsubscribe(req)],
      // Per-stream flow control for a peer that multiplexes many streams (a hub mounting
      // this one): holding one slow stream leaves the others flowing on the connection.
      [`${root}.call_pause`, (req) => this.#hold(req, true)],
      [`${root}.call_resume`, (req) => this.#hold(req, false)],
      [`${root}.schema_unsub`, (req) => this.#unsubscribe(req)],
      [`${root}.hash_unsub`, (req) => this.#unsubscribe(req)],
      ['_info_unsub', (req) => this.#unsubscribe(req)],
      [
        `${root}.respond`,
        (req) => {
          // Answering a method's question is acting in a call: a connection without a credential may not.
          const why = options.principal?.unauthenticated();
          if (why) throw new PlexusError(ErrorCode.AuthenticationRequired, why);
          this.#respond(hub, req, options.principal);
        },
      ],
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
    if (!handler)
      return this.#reply(req.id, undefined, { code: ErrorCode.MethodNotFound, message: `Method not found: ${echoedName(req.method)}` });
    this.#frameBytes = text.length;
    try {
      handler(req);
    } catch (err) {
      const e = err instanceof PlexusError ? err : new PlexusError(ErrorCode.InternalError, `Internal error: ${(err as Error).message}`);
      // JSON-RPC error answers need a number; a named domain code only travels in `error` items.
      this.#reply(req.id, undefined, { code: typeof e.code === 'number' ? e.code : ErrorCode.ExecutionError, message: e.message });
    }
  }

  /** An answer to a non-binary-safe frame (the transport tells us). */
  rejectBinary(): void {
    this.sink.send(
      errorResponse(null, {
        code: ErrorCode.InvalidRequest,
        message: 'Invalid request: binary frames are not supported; send JSON text frames',
      }),
    );
  }

  /**
   * Refuses new streams, lets running ones finish for up to `graceMs` (forever when
   * not finite), then resolves. The transport then calls `close()`, which cancels
   * what is still running.
   */
  async shutdown(graceMs = Infinity): Promise<void> {
    this.#refusing = true;
    if (!Number.isFinite(graceMs)) return this.idle();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((r) => (timer = setTimeout(r, Math.max(0, graceMs))))]);
    clearTimeout(timer);
  }

  /**
   * Cancels every stream and ignores later frames. With a `reason` (the server
   * shuts down, the connection is still open) each cancelled stream first gets an
   * `error` item with it and its `done`, so no subscriber is left without an end.
   */
  close(reason?: string): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#refusing = true;
    for (const sub of this.#subs.values()) {
      if (reason === undefined || wasClosed) sub.stream.cancel();
      else
        for (const item of sub.stream.cancelWith(new PlexusError(ErrorCode.ExecutionError, reason)))
          this.sink.send(itemNotification(sub.id, item));
      this.#unhold(sub);
      this.#bytes.release(sub.bytes);
    }
    this.#budget.release(this.#subs.size);
    this.#subs.clear();
    this.#wakeIdle();
  }

  /** Resolves when no stream is left (for graceful shutdown). */
  idle(): Promise<void> {
    if (this.#subs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #forget(id: number): void {
    const sub = this.#subs.get(id);
    if (!sub) return;
    this.#subs.delete(id);
    this.#budget.release();
    this.#bytes.release(sub.bytes);
    if (this.#subs.size === 0) this.#wakeIdle();
  }

  #wakeIdle(): void {
    if (this.#subs.size > 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
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
    else throw new PlexusError(ErrorCode.InvalidParams, 'Invalid params: expected {"method": "<dot.path>", "params": {...}}');
    if (typeof method !== 'string')
      throw new PlexusError(ErrorCode.InvalidParams, 'Invalid params: "method" must be a string dot path, e.g. "echo.echo"');
    if (inner !== undefined && inner !== null && (typeof inner !== 'object' || Array.isArray(inner))) {
      throw new PlexusError(ErrorCode.InvalidParams, 'Invalid params: "params" must be an object');
    }
    return [method, inner ?? {}];
  }

  /** `<root>.respond {"request_id", "response_data"}`: answers a `request` item of any stream. */
  #respond(hub: DynamicHub, req: JsonRpcRequest, from: Principal | undefined): void {
    const p = req.params;
    const [requestId, data, given] = Array.isArray(p)
      ? [p[0], p[1], p.length >= 2]
      : p && typeof p === 'object'
        ? [(p as { request_id?: unknown }).request_id, (p as { response_data?: unknown }).response_data, 'response_data' in p]
        : [undefined, undefined, false];
    if (typeof requestId !== 'string' || !given) {
      throw new PlexusError(
        ErrorCode.InvalidParams,
        'Invalid params: expected {"request_id": "<id of the request item>", "response_data": <the answer>}',
      );
    }
    // A PlexusError (unknown id, another caller's question, refused answer) becomes the JSON-RPC error answer.
    hub.respond(requestId, data, from);
    this.#reply(req.id, { success: true });
  }

  #noParams(params: unknown): Record<string, never> {
    const empty =
      params === undefined ||
      (Array.isArray(params) && params.length === 0) ||
      (typeof params === 'object' && params !== null && Object.keys(params).length === 0);
    if (!empty) throw new PlexusError(ErrorCode.InvalidParams, 'Invalid params: this method takes no params');
    return {};
  }

  #optionalObject(params: unknown): unknown {
    if (params === undefined || (Array.isArray(params) && params.length === 0)) return {};
    if (Array.isArray(params)) throw new PlexusError(ErrorCode.InvalidParams, 'Invalid params: expected an object or none');
    return params;
  }

  #subscribe(req: JsonRpcRequest, open: () => CallStream): void {
    if (req.id === undefined) return; // a subscription needs an id to answer with
    if (this.#refusing) throw new PlexusError(ErrorCode.ExecutionError, 'Server is shutting down: no new streams');
    if (this.#subs.size >= this.#maxStreams) {
      throw new PlexusError(ErrorCode.TooManyStreams, `Too many streams: this connection already has ${this.#maxStreams} open (the limit)`);
    }
    if (!this.#budget.take()) {
      throw new PlexusError(
        ErrorCode.TooManyStreams,
        `Too many streams: the server already has ${this.#budget.max} open across all connections (the limit)`,
      );
    }
    // The stream keeps its params (up to a whole frame) alive until it ends: charged by their bytes.
    const bytes = this.#frameBytes;
    try {
      this.#bytes.take(bytes, 'a new stream (its request frame)');
    } catch (err) {
      this.#budget.release();
      throw err;
    }
    let stream: CallStream;
    try {
      stream = open();
    } catch (err) {
      this.#budget.release();
      this.#bytes.release(bytes);
      throw err;
    }
    const id = this.#nextId++;
    const sub = { id, stream, bytes };
    this.#subs.set(id, sub);
    this.#reply(req.id, id);
    if (this.#turns) {
      // As the reference does (the subscribe answer is flushed on its own, items follow
      // from another task): the first item leaves in a later write than the answer, so
      // a client that registers the subscription only once it has handled the answer
      // (the reference's generated one) does not see an item for an id it does not know.
      setImmediate(() => {
        if (this.#subs.get(id) === sub && !this.#flush(sub)) void this.#pump(sub);
      });
      return;
    }
    // A method that answers at once (most unary calls) is sent right here; only a
    // stream that has to wait gets an async pump.
    if (!this.#flush(sub)) void this.#pump(sub);
  }

  /** Sends one item; true when it ended the stream (the subscription is then gone). */
  #send(sub: Subscription, item: StreamItem): boolean {
    this.sink.send(itemNotification(sub.id, item));
    if (item.type !== 'done') return false;
    this.#forget(sub.id);
    return true;
  }

  /** Sends every ready item while the sink takes them; true when the stream has ended. */
  #flush(sub: Subscription): boolean {
    while (!this.sink.congested() && !sub.held) {
      const item = sub.stream.poll();
      if (!item) return false;
      if (this.#send(sub, item)) return true;
    }
    return false;
  }

  #subscriptionOf(req: JsonRpcRequest): Subscription | undefined {
    const p = req.params;
    const raw = Array.isArray(p) ? p[0] : p && typeof p === 'object' ? (p as { subscription?: unknown }).subscription : undefined;
    if (typeof raw !== 'number' && typeof raw !== 'string') {
      throw new PlexusError(ErrorCode.InvalidParams, 'Invalid params: expected [<subscription id>]');
    }
    return this.#subs.get(Number(raw));
  }

  #unsubscribe(req: JsonRpcRequest): void {
    const sub = this.#subscriptionOf(req);
    if (sub) {
      this.#forget(sub.id);
      sub.stream.cancel();
      this.#unhold(sub);
    }
    this.#reply(req.id, sub !== undefined);
  }

  /** `<root>.call_pause [id]` / `call_resume [id]`: true when the stream exists. */
  #hold(req: JsonRpcRequest, on: boolean): void {
    const sub = this.#subscriptionOf(req);
    if (sub && on && !sub.held) {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      sub.held = { promise, release };
    } else if (sub && !on) this.#unhold(sub);
    this.#reply(req.id, sub !== undefined);
  }

  #unhold(sub: Subscription): void {
    const held = sub.held;
    sub.held = undefined; // first: the pump re-checks it when it wakes
    held?.release();
  }

  /** Moves items from the stream to the peer, pausing while the peer is congested. */
  async #pump(sub: Subscription): Promise<void> {
    const { id, stream } = sub;
    try {
      for (;;) {
        if (this.sink.congested()) await this.sink.drained();
        if (sub.held) {
          await sub.held.promise;
          if (!this.#subs.has(id)) break;
          continue;
        }
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
      this.#forget(id);
    }
  }
}
