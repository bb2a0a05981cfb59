import type { Subscriber } from '../client/rpc-connection.js';
import type { RequestItem, StreamItem, StreamMetadata } from '../wire/items.js';
import type { JsonSchema } from '../wire/schema-types.js';
import { PlexusError, errorItemCode } from '../wire/errors.js';
import { CANCELLED_ANSWER } from '../wire/jsonrpc.js';
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

/** Stands for a relayed data item whose content stays JSON text (see `RelayStream.decode`). */
export interface RawItem {
  readonly type: 'raw';
  readonly json: string;
  readonly metadata?: StreamMetadata;
}
type RelayedItem = StreamItem | RawItem;

const DONE: IteratorResult<unknown> = { done: true, value: undefined };
/** Yields nothing: a request item is put into the local stream by `ctx.request` itself. */
const NOTHING: IteratorResult<unknown> = { done: false, value: provenanceBelow([]) };

/** How this server (and the reference) writes a data item and a done item (`itemJson` in wire/jsonrpc.ts). */
const DATA = '{"type":"data","metadata":';
const DONE_ITEM = '{"type":"done"';
const CONTENT_TYPE = '},"content_type":"';
const CONTENT = '","content":';
const DONE_SEEN = { type: 'done' } as StreamItem;

/**
 * One remote call as the values a local `forward` yields. Pull-based: items wait in
 * a queue (counted against the connection's unread bytes) until the local
 * CallStream asks for them.
 */
export class RelayStream implements AsyncIterableIterator<unknown>, Subscriber<RelayedItem> {
  /** Items not yet taken, from `#head` on (an index, not shift(): a paused stream may hold thousands). */
  #queue: { item: RelayedItem; size: number }[] = [];
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
  /** Bytes of all the frames this stream received (what a schema read is charged). */
  received = 0;
  /** True while the remote was asked to hold this stream. */
  held = false;
  /** Set while a hold is asked for and not yet confirmed: items still arriving were in flight when it was asked. */
  holdAsked?: object;
  /** Of `unread`, the bytes that arrived while the hold was not yet confirmed (kept by the connection). */
  inFlight = 0;

  /** The remote's subscription id, once it answered. */
  get sub(): number | undefined {
    return this.#sub;
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

  /** Hands the item to a waiting reader, or queues it (counted against the connection's unread bytes). */
  deliver(item: RelayedItem, size: number): void {
    if (this.#stopped) return; // nobody will read it
    this.received += size;
    const terminal = item.type === 'done' || item.type === 'error';
    if (terminal) this.#ended = true;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      try {
        waiter.resolve(this.#convert(item));
      } catch (err) {
        waiter.reject(err as Error);
      }
      return;
    }
    this.#queue.push({ item, size });
    this.conn.queued(size, this, terminal);
  }

  /**
   * The hot path for items after a stream's first: a data item in the exact framing
   * this server (and the reference) writes is cut out of the frame as text and
   * relayed without parsing it here or serialising it again (the local item parses
   * it only if something reads `content`); a done item needs only its type. Anything
   * else, or anything unexpected, is parsed normally.
   */
  decode(frame: string, at: number): RelayedItem | undefined {
    if (this.options.transform) return undefined; // contents are rewritten: they must be parsed
    if (frame.startsWith(DONE_ITEM, at) && this.#located) return DONE_SEEN;
    if (!frame.startsWith(DATA, at) || !frame.endsWith('}}}')) return undefined;
    const ct = frame.indexOf(CONTENT_TYPE, at + DATA.length);
    if (ct < 0) return undefined;
    const ctEnd = frame.indexOf(CONTENT, ct + CONTENT_TYPE.length);
    if (ctEnd < 0) return undefined;
    // A content_type is a dot path: a quote or escape inside means this is not the framing we know.
    if (frame.indexOf('"', ct + CONTENT_TYPE.length) !== ctEnd) return undefined;
    const backslash = frame.indexOf('\\', ct);
    if (backslash >= 0 && backslash < ctEnd) return undefined;
    const json = frame.slice(ctEnd + CONTENT.length, frame.length - 3);
    const first = json.charCodeAt(0);
    const last = json.charCodeAt(json.length - 1);
    // `{…}`, `[…]`, `"…"`, a number or a literal: a cheap guard against a field after `content`.
    const balanced =
      first === 123 ? last === 125 : first === 91 ? last === 93 : first === 34 ? last === 34 : last !== 125 && last !== 93 && last !== 34;
    if (!balanced) return undefined;
    // The first item of a stream tells where below the mount it comes from: only its metadata is parsed.
    return this.#located
      ? { type: 'raw', json }
      : { type: 'raw', json, metadata: JSON.parse(frame.slice(at + DATA.length, ct + 1)) as StreamMetadata };
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

  #take(): { item: RelayedItem; size: number } | undefined {
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
      () => this.conn.respond(remoteRespond, item.requestId, CANCELLED_ANSWER),
    );
  }

  /** Turns one remote item into what the local stream yields; an error item throws (its code kept). */
  #convert(item: RelayedItem): IteratorResult<unknown> {
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
    switch (item.type) {
      case 'raw':
        return { done: false, value: rawContent(item.json) };
      case 'data': {
        const content = item.content;
        return { done: false, value: this.options.transform ? this.options.transform(content) : content };
      }
      case 'progress':
        return { done: false, value: progress(item.message, item.percentage) };
      case 'request':
        this.#ask(item);
        return NOTHING;
      case 'error':
        throw (this.#failure =
          RemoteUnavailableError.from(item) ?? new PlexusError(errorItemCode(item.code), item.message, item.recoverable, item.details));
      default:
        this.#ended = true;
        return DONE;
    }
  }
}
