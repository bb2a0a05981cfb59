import type { ErrorItem, DataItem, ProgressItem, RequestItem, StreamItem, StreamMetadata } from '../wire/items.js';
import type { JsonSchema } from '../wire/schema-types.js';
import { PlexusError, errorItemCode } from '../wire/errors.js';
import { progress } from '../stream/progress.js';
import { provenanceBelow, rawContent } from '../stream/provenance.js';
import type { RemoteConnection } from './remote-connection.js';
import { RemoteUnavailableError } from './remote-errors.js';

/** What `relay` does with the items of a remote call. */
export interface RelayOptions {
  /** The remote's root name: items it produced at its root need no provenance below the mount. */
  readonly remoteRoot: string;
  /** Rewrites each data item's content (the mount renames the remote root's schema). */
  readonly transform?: (content: unknown) => unknown;
}

/** What a relayed stream needs of its local call: a way to ask the local caller the remote's questions. */
export interface RelayCaller {
  request<T = unknown>(question: { prompt: string; schema?: JsonSchema; timeoutMs?: number }): Promise<T>;
}

/** Stands for a relayed data item whose content stays JSON text (see `RemoteConnection.#fast`). */
export interface RawItem {
  readonly type: 'raw';
  readonly json: string;
  readonly metadata?: StreamMetadata;
}
const DONE: IteratorResult<unknown> = { done: true, value: undefined };
/** Yields nothing: a request item is put into the local stream by `ctx.request` itself. */
const NOTHING: IteratorResult<unknown> = { done: false, value: provenanceBelow([]) };
/** What declines a question (the reference clients' answer without a handler). */
const DECLINED = { type: 'cancelled' };

/**
 * One remote call as the values a local `forward` yields. Pull-based: items wait in
 * a queue (counted against the connection's unread bytes) until the local
 * CallStream asks for them.
 */
export class RelayStream implements AsyncIterableIterator<unknown> {
  /** Items not yet taken, from `#head` on (an index, not shift(): a paused stream may hold thousands). */
  #queue: { item: StreamItem; size: number }[] = [];
  #head = 0;
  #waiter?: { resolve(r: IteratorResult<unknown>): void; reject(e: Error): void };
  #failure?: Error;
  /** No more items will come (terminal item received, failed, or stopped). */
  #ended = false;
  #stopped = false;
  #sub?: number;
  #located = false;
  /** Bytes of items queued here, not yet taken (kept by the connection). */
  unread = 0;
  /** True while the remote was asked to hold this stream. */
  held = false;

  /** The remote's subscription id, once it answered. */
  get sub(): number | undefined {
    return this.#sub;
  }

  /** True once the first item (which carries the provenance) went through. */
  get located(): boolean {
    return this.#located;
  }

  /** True when data contents are rewritten (they must then be parsed). */
  get transforms(): boolean {
    return this.options.transform !== undefined;
  }

  constructor(
    private readonly conn: RemoteConnection,
    readonly method: string,
    private readonly options: RelayOptions,
    private readonly caller?: RelayCaller,
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
      try {
        waiter.resolve(this.#convert(item));
      } catch (err) {
        waiter.reject(err as Error);
      }
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

  /**
   * An item that is already here is returned as a plain result, not a Promise: the
   * local CallStream then takes it synchronously (as it does from a generator), which
   * saves a promise and a microtask per relayed item. `await` accepts either.
   */
  next(): Promise<IteratorResult<unknown>> {
    const queued = this.#take();
    if (queued) {
      this.conn.consumed(queued.size, this);
      try {
        return this.#convert(queued.item) as unknown as Promise<IteratorResult<unknown>>;
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended || this.#stopped) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  #take(): { item: StreamItem; size: number } | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const entry = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as never;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  /** The local caller went away: unsubscribe on the remote (its producer's `finally` runs). */
  return(): Promise<IteratorResult<unknown>> {
    if (!this.#stopped) {
      this.#stopped = true;
      let unread = 0;
      for (let i = this.#head; i < this.#queue.length; i++) unread += this.#queue[i]!.size;
      this.#queue = [];
      this.#head = 0;
      this.held = false; // the unsubscribe ends it at the remote
      if (unread > 0) this.conn.consumed(unread, this);
      if (!this.#ended && this.#sub !== undefined) this.conn.unsubscribe(this.method, this.#sub);
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.resolve(DONE);
    }
    return Promise.resolve(DONE);
  }

  /** Turns one remote item into what the local stream yields. */
  /**
   * The remote asks its caller something: ask ours the same (a new local request id,
   * in order with the items), and send the answer back as `<remote>.respond` — or a
   * decline when ours does not answer, declines, or the call ends.
   */
  #ask(item: RequestItem): void {
    const remoteRespond = `${this.options.remoteRoot}.respond`;
    const data = item.requestData as { prompt?: unknown; schema?: JsonSchema } | null;
    const question = {
      // A plexus-hub question is `{prompt, schema}`; anything else is shown as its JSON.
      prompt: typeof data?.prompt === 'string' && data.prompt ? data.prompt : JSON.stringify(item.requestData),
      ...(data && typeof data.schema === 'object' && data.schema !== null ? { schema: data.schema } : {}),
      ...(Number.isInteger(item.timeoutMs) && item.timeoutMs > 0 ? { timeoutMs: item.timeoutMs } : {}),
    };
    const asked = this.caller ? this.caller.request(question) : Promise.reject(new Error('no local caller to ask'));
    asked.then(
      (answer) => this.conn.respond(remoteRespond, item.requestId, answer),
      () => this.conn.respond(remoteRespond, item.requestId, DECLINED),
    );
  }

  /** Turns one remote item into what the local stream yields; an error item throws (its code kept). */
  #convert(item: StreamItem): IteratorResult<unknown> {
    if (!this.#located && item.type !== 'request') {
      this.#located = true;
      const where = (item as { metadata?: StreamMetadata }).metadata?.provenance;
      // Items of the remote's root carry [<root>]; anything deeper is a path below the mount.
      if (Array.isArray(where) && !(where.length === 1 && where[0] === this.options.remoteRoot) && where.length > 0) {
        // The item itself is converted on the next pull; the mark goes first.
        if (this.#head > 0) this.#queue[--this.#head] = { item, size: 0 };
        else this.#queue.unshift({ item, size: 0 });
        return { done: false, value: provenanceBelow(where) };
      }
    }
    switch ((item as StreamItem | RawItem).type) {
      case 'raw':
        return { done: false, value: rawContent((item as unknown as RawItem).json) };
      case 'data': {
        const content = (item as DataItem).content;
        return { done: false, value: this.options.transform ? this.options.transform(content) : content };
      }
      case 'progress': {
        const p = item as ProgressItem;
        return { done: false, value: progress(p.message, p.percentage) };
      }
      case 'request':
        this.#ask(item as RequestItem);
        return NOTHING;
      case 'error': {
        const e = item as ErrorItem;
        throw (this.#failure = RemoteUnavailableError.from(e) ?? new PlexusError(errorItemCode(e.code), e.message, e.recoverable));
      }
      default:
        this.#ended = true;
        return DONE;
    }
  }
}
