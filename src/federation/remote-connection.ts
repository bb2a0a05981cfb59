import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { StreamItem } from '../wire/items.js';
import { PlexusError, errorItemCode } from '../wire/errors.js';
import { progress } from '../stream/progress.js';
import { provenanceBelow } from '../stream/provenance.js';
import { RemoteUnavailableError } from './remote-errors.js';

/** How much a connection may hold of items its local consumers have not taken yet. */
export interface FlowLimits {
  /** Above this many unread bytes the socket stops being read (default 1 MiB)... */
  readonly highWaterBytes?: number;
  /** ...until they fall below this (default a quarter of it). */
  readonly lowWaterBytes?: number;
}

/** What `relay` does with the items of a remote call. */
export interface RelayOptions {
  /** The remote's root name: items it produced at its root need no provenance below the mount. */
  readonly remoteRoot: string;
  /** Rewrites each data item's content (the mount renames the remote root's schema). */
  readonly transform?: (content: unknown) => unknown;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

const IGNORE: Pending = { resolve: () => {}, reject: () => {} };
const DONE: IteratorResult<unknown> = { done: true, value: undefined };
const MiB = 1024 * 1024;

/**
 * The client side of the Plexus protocol on one WebSocket, for a mounted hub: the
 * socket was dialled by this hub (`--mount`) or dialled *to* it by the remote and
 * turned around (`--join`). Unlike `PlexusClient`, a stream's items are pulled: when
 * local consumers leave more than `highWaterBytes` unread, the socket is paused, the
 * kernel buffers fill, and the remote server's own backpressure pauses its producer.
 * (One paused socket stalls every stream on it: the price of one connection.)
 */
export class RemoteConnection {
  readonly #pending = new Map<number, Pending>();
  readonly #streams = new Map<number, RelayStream>();
  /** Items that arrived before their subscribe answer. */
  readonly #early = new Map<number, { item: StreamItem; size: number }[]>();
  #nextId = 1;
  /** Subscription ids grow; items for an id up to this one whose stream is gone are dropped. */
  #lastSub = 0;
  #unread = 0;
  #paused = false;
  #corked = false;
  readonly #socket?: Socket;
  readonly #high: number;
  readonly #low: number;
  /** Set once the socket closed: the error every call gets from then on. */
  lost?: Error;
  readonly #closeListeners: ((reason: string) => void)[] = [];

  constructor(
    readonly ws: WebSocket,
    /** Makes the error that in-flight and later calls get once the socket is gone. */
    private readonly unavailable: (reason: string) => Error,
    limits: FlowLimits = {},
  ) {
    this.#high = limits.highWaterBytes ?? MiB;
    this.#low = limits.lowWaterBytes ?? this.#high / 4;
    // ws keeps its net.Socket here; corking it coalesces a burst of requests into one write.
    this.#socket = (ws as unknown as { _socket?: Socket })._socket;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.#receive(data.toString());
    });
    ws.on('error', () => {}); // 'close' follows and cleans up
    ws.on('close', (code: number, reason: Buffer) => this.#closed(`connection closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`));
  }

  get open(): boolean {
    return this.lost === undefined;
  }

  onClose(listener: (reason: string) => void): void {
    if (this.lost) listener(this.lost.message);
    else this.#closeListeners.push(listener);
  }

  close(code = 1000, reason = 'unmounted'): void {
    this.ws.close(code, reason);
    this.#closed(reason);
  }

  /** A plain request (subscribe, unsubscribe); the answer's `result`. */
  request(method: string, params: unknown): Promise<unknown> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#send(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`);
    });
  }

  /**
   * Subscribes and relays the items as what a `forward` returns: data contents,
   * progress marks, a provenance mark, and a thrown `PlexusError` (code kept) for an
   * error item. `return()` unsubscribes on the remote at once.
   */
  relay(method: string, params: unknown, options: RelayOptions): RelayStream {
    if (this.lost) throw this.lost;
    const stream = new RelayStream(this, method, options);
    const id = this.#nextId++;
    this.#pending.set(id, {
      resolve: (sub) => {
        if (typeof sub !== 'number') return stream.fail(new PlexusError(-32603, `Remote answered the subscription with ${JSON.stringify(sub)}`));
        if (sub > this.#lastSub) this.#lastSub = sub;
        stream.subscribed(sub);
        this.#streams.set(sub, stream);
        const early = this.#early.get(sub);
        if (early) {
          this.#early.delete(sub);
          for (const e of early) this.#deliver(sub, stream, e.item, e.size);
        }
      },
      reject: (err) => stream.fail(err),
    });
    this.#send(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`);
    return stream;
  }

  /** The data contents of a call (schema and hash fetches); an error item throws. */
  async collect(method: string, params: unknown, options: RelayOptions): Promise<unknown[]> {
    const out: unknown[] = [];
    const stream = this.relay(method, params, options);
    for (;;) {
      const r = await stream.next();
      if (r.done) return out;
      const v = r.value as { __plexus?: unknown } | null;
      if (typeof v !== 'object' || v === null || v.__plexus === undefined) out.push(v);
    }
  }

  /** Called by a stream that stopped early. */
  unsubscribe(method: string, sub: number): void {
    if (!this.#streams.delete(sub) || this.lost) return;
    const id = this.#nextId++;
    this.#pending.set(id, IGNORE);
    this.#send(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(`${method}_unsub`)},"params":[${sub}]}`);
  }

  /** A stream's consumer took `size` bytes' worth of items: maybe read the socket again. */
  consumed(size: number): void {
    this.#unread -= size;
    if (this.#paused && this.#unread <= this.#low) {
      this.#paused = false;
      this.ws.resume();
    }
  }

  #send(text: string): void {
    const socket = this.#socket;
    if (socket && !this.#corked) {
      this.#corked = true;
      socket.cork();
      setImmediate(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    this.ws.send(text);
  }

  #receive(text: string): void {
    let msg: { id?: unknown; result?: unknown; error?: { code: number; message: string }; params?: { subscription?: unknown; result?: StreamItem } };
    try {
      msg = JSON.parse(text);
    } catch {
      return; // a remote that sends garbage only hurts its own calls
    }
    const params = msg.params;
    if (params && typeof params.subscription === 'number' && params.result && typeof params.result === 'object') {
      const sub = params.subscription;
      const stream = this.#streams.get(sub);
      if (stream) this.#deliver(sub, stream, params.result, text.length);
      else if (sub > this.#lastSub && this.#pending.size > 0) {
        // Before its subscribe answer (the spec allows it); older ids are streams we left.
        const early = this.#early.get(sub) ?? [];
        if (early.length < 1024) early.push({ item: params.result, size: text.length });
        this.#early.set(sub, early);
      }
      return;
    }
    if (typeof msg.id !== 'number') return;
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) pending.reject(new PlexusError(msg.error.code, msg.error.message));
    else pending.resolve(msg.result);
  }

  #deliver(sub: number, stream: RelayStream, item: StreamItem, size: number): void {
    if (item.type === 'done') this.#streams.delete(sub);
    if (!stream.push(item, size)) return;
    this.#unread += size;
    if (!this.#paused && this.#unread > this.#high) {
      this.#paused = true;
      this.ws.pause();
    }
  }

  #closed(reason: string): void {
    if (this.lost) return;
    const err = (this.lost = this.unavailable(reason));
    const pending = [...this.#pending.values()];
    const streams = [...this.#streams.values()];
    this.#pending.clear();
    this.#streams.clear();
    this.#early.clear();
    for (const p of pending) p.reject(err);
    for (const s of streams) s.fail(err);
    for (const l of this.#closeListeners.splice(0)) l(reason);
  }
}

/**
 * One remote call as the values a local `forward` yields. Pull-based: items wait in
 * a queue (counted against the connection's unread bytes) until the local
 * CallStream asks for them.
 */
export class RelayStream implements AsyncIterableIterator<unknown> {
  readonly #queue: { item: StreamItem; size: number }[] = [];
  #waiter?: { resolve(r: IteratorResult<unknown>): void; reject(e: Error): void };
  #failure?: Error;
  /** No more items will come (terminal item received, failed, or stopped). */
  #ended = false;
  #stopped = false;
  #sub?: number;
  #located = false;

  constructor(
    private readonly conn: RemoteConnection,
    private readonly method: string,
    private readonly options: RelayOptions,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  subscribed(sub: number): void {
    this.#sub = sub;
    if (this.#stopped) this.conn.unsubscribe(this.method, sub);
  }

  /** False when nobody will read it (the caller left): then it is not counted. */
  push(item: StreamItem, size: number): boolean {
    if (this.#stopped) return false;
    if (item.type === 'done' || item.type === 'error') this.#ended = true;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      this.#settle(item, waiter);
      return false;
    }
    this.#queue.push({ item, size });
    return true;
  }

  fail(err: Error): void {
    if (this.#ended || this.#stopped) return;
    this.#ended = true;
    this.#failure = err;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(err);
  }

  next(): Promise<IteratorResult<unknown>> {
    const queued = this.#queue.shift();
    if (queued) {
      this.conn.consumed(queued.size);
      return new Promise((resolve, reject) => this.#settle(queued.item, { resolve, reject }));
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended || this.#stopped) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** The local caller went away: unsubscribe on the remote (its producer's `finally` runs). */
  return(): Promise<IteratorResult<unknown>> {
    if (!this.#stopped) {
      this.#stopped = true;
      let unread = 0;
      for (const q of this.#queue.splice(0)) unread += q.size;
      if (unread > 0) this.conn.consumed(unread);
      if (!this.#ended && this.#sub !== undefined) this.conn.unsubscribe(this.method, this.#sub);
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.resolve(DONE);
    }
    return Promise.resolve(DONE);
  }

  /** Turns one remote item into what the local stream yields. */
  #settle(item: StreamItem, to: { resolve(r: IteratorResult<unknown>): void; reject(e: Error): void }): void {
    if (!this.#located) {
      this.#located = true;
      const where = item.metadata?.provenance;
      // Items of the remote's root carry [<root>]; anything deeper is a path below the mount.
      if (Array.isArray(where) && !(where.length === 1 && where[0] === this.options.remoteRoot) && where.length > 0) {
        // The item itself is settled on the next pull; the mark goes first.
        this.#queue.unshift({ item, size: 0 });
        return to.resolve({ done: false, value: provenanceBelow(where) });
      }
    }
    switch (item.type) {
      case 'data':
        return to.resolve({ done: false, value: this.options.transform ? this.options.transform(item.content) : item.content });
      case 'progress':
        return to.resolve({ done: false, value: progress(item.message, item.percentage) });
      case 'error': {
        this.#failure = RemoteUnavailableError.from(item) ?? new PlexusError(errorItemCode(item.code), item.message, item.recoverable);
        return to.reject(this.#failure);
      }
      default:
        this.#ended = true;
        return to.resolve(DONE);
    }
  }
}
