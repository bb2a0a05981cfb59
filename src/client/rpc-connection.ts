import type { StreamItem } from '../wire/items.js';
import { PlexusError } from '../wire/errors.js';
import { NOTIFICATION_HEAD, NOTIFICATION_RESULT, requestFrame, RESPONSE_HEAD, RESPONSE_RESULT } from '../wire/jsonrpc.js';

/** What a subscription hands its items to: the client's queue, a mount's relayed stream. */
export interface Subscriber<Item extends { readonly type: string } = StreamItem> {
  /** The subscribe was answered: the peer's subscription id (items may have come before it). */
  subscribed(sub: number): void;
  /** One item; `size` is its frame's length, for a reader that counts what it holds. */
  deliver(item: StreamItem | Item, size: number): void;
  /**
   * The hot path of a relay: the item of a notification frame (its JSON starts at
   * `at`) made without parsing the frame, or undefined to have it parsed.
   */
  decode?(frame: string, at: number): Item | undefined;
  /** The subscribe was refused, or the connection is gone. */
  fail(err: Error): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

type AnySubscriber = Subscriber<{ readonly type: string }>;

/** Items kept for a subscription whose subscribe answer has not been read yet. */
const MAX_EARLY_ITEMS = 1024;
/** Bytes of items kept, all subscriptions together, for subscribes not answered yet. */
const MAX_EARLY_BYTES = 1024 * 1024;
/**
 * Items for subscription ids this side never asked for, after which the connection
 * is given up (`onViolation`). Such items are dropped, never buffered: a peer that
 * sends them is broken or hostile, and a few are enough to tell.
 */
export const MAX_STRAY_ITEMS = 8;

/**
 * The client side of the protocol on one connection, whatever carries it (a browser
 * WebSocket, `ws`): request ids and answers, the subscription table, items that come
 * before their subscribe answer (the spec allows it), `…_unsub` at once when a reader
 * leaves, and every waiting call failed when the connection goes. It writes frames
 * through `write` and is fed text frames with `receive()`; the owner of the socket
 * calls `close()` when it closes.
 */
export class RpcConnection {
  readonly #requests = new Map<number, Pending>();
  /** Subscribes awaiting their answer. */
  readonly #subscribing = new Map<number, AnySubscriber>();
  readonly #subs = new Map<number, AnySubscriber>();
  readonly #early = new Map<number, { item: StreamItem; size: number }[]>();
  #earlyBytes = 0;
  /** Items received for ids never asked for (see MAX_STRAY_ITEMS). */
  #strays = 0;
  #nextId = 1;
  /** Subscription ids grow: items for an id up to this one whose subscriber is gone are dropped, not kept as early. */
  #lastSub = 0;
  #lost?: Error;

  constructor(
    private readonly write: (frame: string) => void,
    /** Makes the error that waiting and later calls get once the connection is gone. */
    private readonly unavailable: (reason: string) => Error,
    /**
     * The peer broke the protocol past tolerance (items for subscriptions never asked
     * for): the owner closes the socket. The connection itself is closed with `reason`.
     */
    private readonly onViolation?: (reason: string) => void,
  ) {}

  get open(): boolean {
    return this.#lost === undefined;
  }

  /** Set once the connection closed: the error every call gets from then on. */
  get lost(): Error | undefined {
    return this.#lost;
  }

  /** A request and its answer; an error answer rejects with a `PlexusError` (code kept). */
  request(method: string, params?: unknown): Promise<unknown> {
    if (this.#lost) return Promise.reject(this.#lost);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#requests.set(id, { resolve, reject });
      this.write(requestFrame(id, method, params));
    });
  }

  /** A request whose answer nobody reads (an unsubscribe, an answer to a question). */
  notify(method: string, params?: unknown): void {
    if (!this.#lost) this.write(requestFrame(this.#nextId++, method, params));
  }

  /** Subscribes: the answer and the items go to `subscriber`. */
  subscribe<Item extends { readonly type: string }>(method: string, params: unknown, subscriber: Subscriber<Item>): void {
    if (this.#lost) return subscriber.fail(this.#lost);
    const id = this.#nextId++;
    this.#subscribing.set(id, subscriber as AnySubscriber);
    this.write(requestFrame(id, method, params));
  }

  /** A reader left before the end: forget the subscription and tell the peer (`<method>_unsub`). False when it had ended. */
  unsubscribe(method: string, sub: number): boolean {
    if (!this.#subs.delete(sub)) return false;
    this.notify(`${method}_unsub`, [sub]);
    return true;
  }

  /** Fails every waiting call and subscription; later calls fail at once. */
  close(reason: string): void {
    if (this.#lost) return;
    const err = (this.#lost = this.unavailable(reason));
    const requests = [...this.#requests.values()];
    const subscribers = [...this.#subscribing.values(), ...this.#subs.values()];
    this.#requests.clear();
    this.#subscribing.clear();
    this.#subs.clear();
    this.#early.clear();
    this.#earlyBytes = 0;
    for (const r of requests) r.reject(err);
    for (const s of subscribers) s.fail(err);
  }

  /** One text frame from the peer. */
  receive(text: string): void {
    if (text.startsWith(NOTIFICATION_HEAD)) {
      if (this.#fastItem(text)) return;
    } else if (text.startsWith(RESPONSE_HEAD) && this.#fastAnswer(text)) return;
    let msg: {
      id?: unknown;
      result?: unknown;
      error?: { code: number; message: string };
      params?: { subscription?: unknown; result?: StreamItem };
    };
    try {
      msg = JSON.parse(text);
    } catch {
      return; // a peer that sends garbage only hurts its own calls
    }
    const params = msg.params;
    if (params && typeof params.subscription === 'number' && params.result && typeof params.result === 'object') {
      this.#item(params.subscription, params.result, text.length);
      return;
    }
    if (typeof msg.id !== 'number') return;
    if (msg.error) {
      const err = new PlexusError(msg.error.code, msg.error.message);
      const subscriber = this.#subscribing.get(msg.id);
      if (subscriber) {
        this.#subscribing.delete(msg.id);
        this.#purgeEarly();
        return subscriber.fail(err);
      }
      const request = this.#requests.get(msg.id);
      this.#requests.delete(msg.id);
      request?.reject(err);
    } else this.#answered(msg.id, msg.result);
  }

  #answered(id: number, result: unknown): void {
    const subscriber = this.#subscribing.get(id);
    if (!subscriber) {
      const request = this.#requests.get(id);
      this.#requests.delete(id);
      return request?.resolve(result);
    }
    this.#subscribing.delete(id);
    if (typeof result !== 'number')
      return subscriber.fail(new PlexusError(-32603, `The peer answered the subscription with ${JSON.stringify(result)}`));
    const sub = result;
    if (sub > this.#lastSub) this.#lastSub = sub;
    this.#subs.set(sub, subscriber);
    subscriber.subscribed(sub);
    const early = this.#early.get(sub);
    this.#early.delete(sub);
    if (early) for (const e of early) this.#earlyBytes -= e.size;
    this.#purgeEarly();
    if (!early) return;
    // The subscriber may have left in `subscribed` or on an earlier item.
    for (const e of early) if (this.#subs.get(sub) === subscriber) this.#deliver(sub, subscriber, e.item, e.size);
  }

  #item(sub: number, item: StreamItem, size: number): void {
    const subscriber = this.#subs.get(sub);
    if (subscriber) return this.#deliver(sub, subscriber, item, size);
    // Older ids are streams this side left: their last items may still be on the way.
    if (sub <= this.#lastSub) return;
    // Before its subscribe answer (the spec allows it): kept for at most as many ids as
    // subscribes are waiting, within a byte cap. Anything else was never asked for.
    const early = this.#early.get(sub);
    const room = early ? early.length < MAX_EARLY_ITEMS : this.#early.size < this.#subscribing.size;
    if (!room || this.#earlyBytes + size > MAX_EARLY_BYTES) return this.#stray();
    this.#earlyBytes += size;
    if (early) early.push({ item, size });
    else this.#early.set(sub, [{ item, size }]);
  }

  /** No subscribe is waiting: items kept for ids nobody will claim were strays. */
  #purgeEarly(): void {
    if (this.#subscribing.size > 0 || this.#early.size === 0) return;
    const unclaimed = [...this.#early.values()];
    this.#early.clear();
    this.#earlyBytes = 0;
    for (const items of unclaimed) for (let i = 0; i < items.length && this.open; i++) this.#stray();
  }

  /** One item for a subscription never asked for: dropped; a few of them close the connection. */
  #stray(): void {
    if (++this.#strays < MAX_STRAY_ITEMS || this.#lost) return;
    const reason = `the peer sent ${this.#strays} items for subscriptions this side never asked for`;
    this.close(reason);
    this.onViolation?.(reason);
  }

  #deliver(sub: number, subscriber: AnySubscriber, item: { readonly type: string }, size: number): void {
    if (item.type === 'done' || item.type === 'error') this.#subs.delete(sub);
    subscriber.deliver(item, size);
  }

  /** A notification for a subscriber that decodes frames itself: only its subscription id is read here. */
  #fastItem(text: string): boolean {
    let i = NOTIFICATION_HEAD.length;
    let sub = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) sub = sub * 10 + (c - 48);
    if (i === NOTIFICATION_HEAD.length || !text.startsWith(NOTIFICATION_RESULT, i)) return false;
    const subscriber = this.#subs.get(sub);
    const item = subscriber?.decode?.(text, i + NOTIFICATION_RESULT.length);
    if (!item) return false;
    this.#deliver(sub, subscriber!, item, text.length);
    return true;
  }

  /** `{"jsonrpc":"2.0","id":<n>,"result":<n>}`, a subscribe answer, without JSON.parse. */
  #fastAnswer(text: string): boolean {
    let i = RESPONSE_HEAD.length;
    let id = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) id = id * 10 + (c - 48);
    if (i === RESPONSE_HEAD.length || !text.startsWith(RESPONSE_RESULT, i)) return false;
    const from = (i += RESPONSE_RESULT.length);
    let result = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) result = result * 10 + (c - 48);
    if (i === from || i !== text.length - 1 || text.charCodeAt(i) !== 125) return false;
    this.#answered(id, result);
    return true;
  }
}
