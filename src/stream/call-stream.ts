import { toPlexusError, type PlexusError } from '../wire/errors.js';
import type { ItemFactory } from './item-factory.js';
import { TERMINAL_SUFFIX, UPDATE_SUFFIX, type RequestItem, type StreamItem, type WireForm } from '../wire/items.js';
import { cancelledTerminal, completeTerminal, failedTerminal } from './turn.js';
import type { ProvenanceMark, RawContentMark } from './provenance.js';
import type { StopMark } from './stop.js';

/** What a call's start function gets: the cancellation signal and a way to name the producer. */
export interface CallStart {
  readonly signal: AbortSignal;
  /** Switches item metadata to the routed activation (before routing, items are the root's). */
  use(items: ItemFactory): void;
  /** Puts a `request` item into the stream, in order with the items produced so far. */
  ask(item: RequestItem): void;
  /** Puts a `progress` item into the stream (a guard telling the caller why the call waits). */
  progress(message: string): void;
  /**
   * The router is about to run a method the turn form projects (not the root's
   * own, not a legacy activation's, not a mounted hub's). For a `turns` consumer its
   * values become `<path>.update` items and its end one `<path>.terminal` item;
   * otherwise nothing changes. After `use()`.
   */
  turn(): void;
  /** The wire form the consumer reads (what `ctx.request` asks in). */
  readonly wire: WireForm;
}

/** A call being projected as a turn: where its updates and terminal go, and a unary result. */
interface Turn {
  readonly terminal: ItemFactory;
  value: unknown;
  /** Set by a `stopAs` mark: how a call that did not fail stopped short. */
  stop?: StopMark;
}

/** How a call ended, for an observer (the audit log). */
export interface CallEnd {
  /** Data items produced. */
  readonly items: number;
  /** What failed the call, when it failed (the thrown value, before it became an error item). */
  readonly error?: unknown;
  /** The consumer stopped it before its end. */
  readonly cancelled: boolean;
}

/**
 * Told once how a call ended: before its `done` item is made, or when it is
 * cancelled. What it returns is added to the `done` item's metadata.
 */
export type CallObserver = (end: CallEnd) => Readonly<Record<string, unknown>> | undefined;

interface Subscribable {
  subscribe(observer: { next(v: unknown): void; error(e: unknown): void; complete(): void }): { unsubscribe(): void };
}

type Waiter = (result: IteratorResult<StreamItem>) => void;

const DONE: IteratorResult<StreamItem> = { done: true, value: undefined };

/**
 * How many items an iterator source may run ahead of the consumer. Enough to let
 * producer and consumer overlap (and writes batch), small enough that a paused
 * consumer holds at most this many items per stream.
 */
export const READ_AHEAD = 32;

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === 'function';
}

function asIterator(v: unknown): AsyncIterator<unknown> | Iterator<unknown> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const asyncIt = (v as AsyncIterable<unknown>)[Symbol.asyncIterator];
  if (typeof asyncIt === 'function') return asyncIt.call(v);
  // Sync iterators only when they are iterators themselves (generators); arrays, Maps etc. are values.
  const syncIt = (v as Iterable<unknown>)[Symbol.iterator];
  if (typeof syncIt === 'function' && typeof (v as Iterator<unknown>).next === 'function') return syncIt.call(v);
  return undefined;
}

function isSubscribable(v: unknown): v is Subscribable {
  return typeof v === 'object' && v !== null && typeof (v as Subscribable).subscribe === 'function';
}

/**
 * One call as a stream of wire items, whatever the method returned: a value, a
 * Promise, an AsyncIterable, a Generator or an Observable. Always ends in `done`,
 * with an `error` item before it on failure.
 *
 * Pull-driven: an iterator source runs at most READ_AHEAD items ahead of the
 * consumer, so a slow consumer (a full socket) pauses the producer. Observables
 * push and are buffered. `return()` (breaking a `for await`, unsubscribing) aborts the
 * call's signal, tells the source to stop (generator `finally` runs, Observable
 * unsubscribes) and resolves at once, without waiting for the producer.
 */
export class CallStream implements AsyncIterableIterator<StreamItem>, CallStart {
  /** Made on first use: most calls never look at their signal, and an AbortController is the costliest part of a small call. */
  #controller?: AbortController;
  #cancelled = false;
  readonly #queue: StreamItem[] = [];
  readonly #waiters: Waiter[] = [];
  #items: ItemFactory;
  #started = false;
  /** No more items will be produced (terminal item queued or cancelled). */
  #finished = false;
  #iterator?: AsyncIterator<unknown> | Iterator<unknown>;
  #pulling = false;
  #subscription?: { unsubscribe(): void };
  #onEnd?: () => void;
  #observer?: CallObserver;
  #dataItems = 0;
  #error?: unknown;
  #wire: WireForm = 'legacy';
  /** Set when this call is projected as a turn (turn form, a projected method). */
  #turn?: Turn;

  constructor(
    private readonly start: (call: CallStart) => unknown,
    items: ItemFactory,
  ) {
    this.#items = items;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** Runs once when the stream has ended, normally or by cancellation (e.g. to drop an abort listener). */
  onEnd(listener: () => void): void {
    this.#onEnd = listener;
  }

  #ended(): void {
    const listener = this.#onEnd;
    this.#onEnd = undefined;
    listener?.();
  }

  /** Sets the observer told how the call ended (one per stream). */
  observe(observer: CallObserver): void {
    this.#observer = observer;
  }

  #observed(cancelled: boolean): Readonly<Record<string, unknown>> | undefined {
    const observer = this.#observer;
    if (!observer) return undefined;
    this.#observer = undefined;
    return observer({ items: this.#dataItems, cancelled, ...(this.#error !== undefined ? { error: this.#error } : {}) });
  }

  /** For the start function: item metadata of the routed activation from now on. */
  use(items: ItemFactory): void {
    this.#items = items;
  }

  get wire(): WireForm {
    return this.#wire;
  }

  /** The consumer reads `form` (the connection's wire form); before the first item is read. */
  speak(form: WireForm): this {
    this.#wire = form;
    return this;
  }

  turn(): void {
    if (this.#wire !== 'turns' || this.#turn) return;
    const path = this.#items.contentType;
    this.#turn = { terminal: this.#items.as(path + TERMINAL_SUFFIX), value: null };
    // Updates are data items under another content type: no per-item cost.
    this.#items = this.#items.as(path + UPDATE_SUFFIX);
  }

  ask(item: RequestItem): void {
    if (!this.#finished) this.#emit(item);
  }

  progress(message: string): void {
    if (!this.#finished) this.#emit(this.#items.progress(message));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamItem>> {
    const item = this.poll();
    if (item) return Promise.resolve({ done: false, value: item });
    if (this.#finished) return Promise.resolve(DONE);
    const result = new Promise<IteratorResult<StreamItem>>((resolve) => this.#waiters.push(resolve));
    if (this.#iterator && !this.#pulling) this.#pull();
    return result;
  }

  /**
   * An item that is ready now, without waiting (starting the call if needed), or
   * undefined. Transports drain bursts with it: a unary result and its `done`, or
   * read-ahead items, go out in one synchronous pass.
   */
  poll(): StreamItem | undefined {
    if (!this.#started) this.#begin();
    const item = this.#queue.shift();
    if (this.#iterator && !this.#pulling && this.#queue.length < READ_AHEAD) this.#pull();
    return item;
  }

  /** Cancels the call. */
  return(): Promise<IteratorResult<StreamItem>> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  /**
   * Cancels the call and returns the `error` and `done` items that tell its
   * consumer why (e.g. the server shuts down), in this call's metadata.
   */
  cancelWith(err: PlexusError): [StreamItem, StreamItem] {
    const turn = this.#turn;
    const items: [StreamItem, StreamItem] = [
      turn ? turn.terminal.data(cancelledTerminal(err)) : this.#items.error(err),
      this.#items.done(),
    ];
    this.cancel();
    return items;
  }

  cancel(): void {
    if (this.#finished && this.#queue.length === 0) return;
    this.#finished = true;
    this.#stop();
    for (const w of this.#waiters.splice(0)) w(DONE);
    this.#observed(true);
    this.#ended();
  }

  /**
   * Ends the call now with `err`: the producer is stopped as by `cancel()`, items it
   * made that were not read yet are dropped, and the consumer reads `err` as an
   * `error` item, then `done`. For a policy that withdraws a running call (its
   * caller's token was revoked); does nothing once the call has ended.
   */
  abort(err: unknown): void {
    if (this.#finished) return;
    this.#stop();
    this.#fail(err);
  }

  /** Stops the producer and drops unread items (the stream's end is the caller's to write). */
  #stop(): void {
    this.#started = true;
    this.#queue.length = 0;
    this.#cancelled = true;
    this.#controller?.abort();
    const iterator = this.#iterator;
    this.#iterator = undefined;
    // Not awaited: a generator parked on an await runs its `finally` when it wakes.
    if (iterator?.return) {
      try {
        const r = iterator.return();
        if (isPromiseLike(r)) r.then(undefined, () => {});
      } catch {
        /* the producer's cleanup failing is not the consumer's problem */
      }
    }
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  #emit(item: StreamItem): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter({ done: false, value: item });
    else this.#queue.push(item);
  }

  #value(value: unknown): void {
    const mark = typeof value === 'object' && value !== null ? (value as { __plexus?: unknown }).__plexus : undefined;
    if (mark === undefined) {
      this.#dataItems++;
      this.#emit(this.#items.data(value === undefined ? null : value));
    } else if (mark === 'progress') {
      const p = value as { message: string; percentage?: number };
      this.#emit(this.#items.progress(p.message, p.percentage));
    } else if (mark === 'raw') {
      this.#dataItems++;
      this.#emit(this.#items.rawData((value as RawContentMark).json));
    } else if (mark === 'stop') {
      if (this.#turn) this.#turn.stop = value as StopMark;
    } else if (mark === 'provenance') this.#items = this.#items.below((value as ProvenanceMark).below);
    else {
      this.#dataItems++;
      this.#emit(this.#items.data(value));
    }
  }

  #end(failed?: PlexusError): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#iterator = undefined;
    this.#subscription = undefined;
    const turn = this.#turn;
    if (turn) this.#emit(turn.terminal.data(failed ? failedTerminal(failed) : completeTerminal(turn.value, turn.stop)));
    this.#emit(this.#items.done(this.#observed(false)));
    this.#ended();
  }

  #fail(err: unknown): void {
    if (this.#finished) return;
    this.#error = err;
    const error = toPlexusError(err);
    if (this.#turn) return this.#end(error);
    this.#emit(this.#items.error(error));
    this.#end();
  }

  #begin(): void {
    this.#started = true;
    let output: unknown;
    try {
      output = this.start(this);
    } catch (err) {
      return this.#fail(err);
    }
    this.#consume(output);
  }

  #consume(output: unknown): void {
    if (this.#finished) return;
    if (isPromiseLike(output)) {
      output.then(
        (v) => this.#consume(v),
        (err) => this.#fail(err),
      );
      return;
    }
    const iterator = asIterator(output);
    if (iterator) {
      this.#iterator = iterator;
      this.#pull();
      return;
    }
    if (isSubscribable(output)) {
      this.#subscription = output.subscribe({
        next: (v) => {
          if (!this.#finished) this.#value(v);
        },
        error: (err) => this.#fail(err),
        complete: () => this.#end(),
      });
      // A synchronous Observable may have completed inside subscribe().
      if (this.#finished) this.#subscription.unsubscribe();
      return;
    }
    // A unary method's result is its turn's terminal value, not an update.
    if (this.#turn) this.#turn.value = output === undefined ? null : output;
    else this.#value(output);
    this.#end();
  }

  /** Advances the iterator while someone waits for an item or the read-ahead has room. */
  #pull(): void {
    const iterator = this.#iterator;
    if (!iterator || this.#pulling) return;
    this.#pulling = true;
    let step: IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>>;
    try {
      step = iterator.next();
    } catch (err) {
      this.#pulling = false;
      return this.#fail(err);
    }
    if (isPromiseLike(step)) {
      step.then(
        (r) => this.#step(iterator, r),
        (err) => {
          this.#pulling = false;
          if (this.#iterator === iterator) this.#fail(err);
        },
      );
    } else {
      this.#step(iterator, step);
    }
  }

  #step(iterator: AsyncIterator<unknown> | Iterator<unknown>, r: IteratorResult<unknown>): void {
    this.#pulling = false;
    if (this.#iterator !== iterator) return; // cancelled meanwhile
    if (r.done) return this.#end();
    this.#value(r.value);
    if (this.#waiters.length > 0 || this.#queue.length < READ_AHEAD) this.#pull();
  }
}

/** Drains a stream into an array of items (including the terminal ones). */
export async function collectItems(stream: AsyncIterable<StreamItem>): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const item of stream) out.push(item);
  return out;
}
