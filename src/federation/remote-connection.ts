import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { StreamItem, StreamMetadata } from '../wire/items.js';
import { PlexusError } from '../wire/errors.js';
import { RelayStream, type RawItem, type RelayCaller, type RelayOptions } from './relay-stream.js';

/** How much a connection may hold of items its local consumers have not taken yet. */
export interface FlowLimits {
  /**
   * Default 1 MiB. A stream with more than a quarter of this unread locally is held at
   * the remote (`<root>.call_pause`) until it drops below a sixteenth; the socket
   * itself stops being read above 8× this in all (1× for a remote that cannot hold
   * single streams), until a quarter of that.
   */
  readonly highWaterBytes?: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

/** How a Plexus server frames an item notification, and how a data item and a done item begin. */
const NOTE = '{"jsonrpc":"2.0","method":"result","params":{"subscription":';
const RESULT = ',"result":';
const DATA = '{"type":"data","metadata":';
const DONE_ITEM = '{"type":"done"';
const ANSWER = '{"jsonrpc":"2.0","id":';
const RESULT_NUMBER = ',"result":';
const CONTENT_TYPE = '},"content_type":"';
const CONTENT = '","content":';
const DONE_SEEN = { type: 'done' } as StreamItem;
const IGNORE: Pending = { resolve: () => {}, reject: () => {} };
const MiB = 1024 * 1024;

/**
 * The client side of the Plexus protocol on one WebSocket, for a mounted hub: the
 * socket was dialled by this hub (`--mount`) or dialled *to* it by the remote and
 * turned around (`--join`). Unlike `PlexusClient`, a stream's items are pulled: when
 * a local consumer falls behind, its stream is held at the remote (`…_pause`, the
 * remote's pump stops, so its producer does), and the others keep flowing. A remote
 * that cannot hold single streams gets the blunt version: the socket is paused, the
 * kernel buffers fill, and the remote server's own backpressure pauses every producer.
 */
export class RemoteConnection {
  /** Requests awaiting their answer: a subscribe of a relayed stream, or a plain request. */
  readonly #pending = new Map<number, Pending | RelayStream>();
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
  /** Unread bytes of one stream above which it is held at the remote; resumed at a quarter of it. */
  readonly #streamHigh: number;
  /** The remote holds single streams (`<root>.call_pause`); false once it refused, then only the socket is paused. */
  #holds = true;
  readonly #holdAnswer: Pending = {
    resolve: () => {},
    reject: () => {
      this.#holds = false;
      this.#checkPause();
    },
  };
  /** Set once the socket closed: the error every call gets from then on. */
  lost?: Error;

  constructor(
    readonly ws: WebSocket,
    /** Makes the error that in-flight and later calls get once the socket is gone. */
    private readonly unavailable: (reason: string) => Error,
    limits: FlowLimits = {},
  ) {
    this.#high = limits.highWaterBytes ?? MiB;
    this.#streamHigh = this.#high / 4;
    // ws keeps its net.Socket here; corking it coalesces a burst of requests into one write.
    this.#socket = (ws as unknown as { _socket?: Socket })._socket;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.#receive(data.toString());
    });
    ws.on('error', () => {}); // 'close' follows and cleans up
    ws.on('close', (code: number, reason: Buffer) =>
      this.#closed(`connection closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`),
    );
  }

  get open(): boolean {
    return this.lost === undefined;
  }

  close(code = 1000, reason = 'unmounted'): void {
    this.ws.close(code, reason);
    this.#closed(reason);
  }

  /** Drops a connection that stopped answering (no closing handshake: the peer may be gone). */
  terminate(reason: string): void {
    this.ws.terminate();
    this.#closed(reason);
  }

  /** True while this side has stopped reading because local consumers are behind. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Subscribes and relays the items as what a `forward` returns: data contents,
   * progress marks, a provenance mark, and a thrown `PlexusError` (code kept) for an
   * error item. `return()` unsubscribes on the remote at once.
   */
  relay(method: string, params: unknown, options: RelayOptions, caller?: RelayCaller): RelayStream {
    if (this.lost) throw this.lost;
    const stream = new RelayStream(this, method, options, caller);
    const id = this.#nextId++;
    this.#pending.set(id, stream);
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
      const v = r.value as { __plexus?: unknown; json?: string } | null;
      if (typeof v !== 'object' || v === null || v.__plexus === undefined) out.push(v);
      else if (v.__plexus === 'raw') out.push(JSON.parse(v.json!));
    }
  }

  #answered(pending: Pending | RelayStream, result: unknown): void {
    if (!(pending instanceof RelayStream)) return pending.resolve(result);
    const stream = pending;
    if (typeof result !== 'number')
      return stream.fail(new PlexusError(-32603, `Remote answered the subscription with ${JSON.stringify(result)}`));
    const sub = result;
    if (sub > this.#lastSub) this.#lastSub = sub;
    stream.subscribed(sub);
    this.#streams.set(sub, stream);
    const early = this.#early.get(sub);
    if (early) {
      this.#early.delete(sub);
      for (const e of early) this.#deliver(sub, stream, e.item, e.size);
    }
  }

  /** Called by a stream that stopped early. */
  unsubscribe(method: string, sub: number): void {
    if (!this.#streams.delete(sub) || this.lost) return;
    const id = this.#nextId++;
    this.#pending.set(id, IGNORE);
    this.#send(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(`${method}_unsub`)},"params":[${sub}]}`);
  }

  /** Answers a question the remote asked (`<remote>.respond`); the remote reports a late or unknown id itself. */
  respond(respondMethod: string, requestId: string, response: unknown): void {
    if (this.lost) return;
    const id = this.#nextId++;
    this.#pending.set(id, IGNORE);
    this.#send(
      `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(respondMethod)},"params":${JSON.stringify({ request_id: requestId, response_data: response })}}`,
    );
  }

  /**
   * Unread bytes above which the socket itself stops being read: the connection's
   * limit when the remote cannot hold single streams, else a safety net well above the
   * per-stream holds (which keep one slow stream from stalling the others).
   */
  get #socketLimit(): number {
    return this.#holds ? this.#high * 8 : this.#high;
  }

  #checkPause(): void {
    if (!this.#paused && this.#unread > this.#socketLimit) {
      this.#paused = true;
      this.ws.pause();
    }
  }

  /** A stream's consumer took `size` bytes' worth of items: maybe resume the stream, or read the socket again. */
  consumed(size: number, stream: RelayStream): void {
    this.#unread -= size;
    stream.unread -= size;
    if (stream.held && stream.unread <= this.#streamHigh / 4) this.#hold(stream, false);
    if (this.#paused && this.#unread <= this.#socketLimit / 4) {
      this.#paused = false;
      this.ws.resume();
    }
  }

  /** Asks the remote to stop (or go on) sending one stream's items. */
  #hold(stream: RelayStream, on: boolean): void {
    stream.held = on;
    if (stream.sub === undefined || this.lost) return;
    const id = this.#nextId++;
    this.#pending.set(id, this.#holdAnswer);
    this.#send(
      `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(`${stream.method}_${on ? 'pause' : 'resume'}`)},"params":[${stream.sub}]}`,
    );
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

  /**
   * The hot path for items after a stream's first: a data item in the exact framing
   * this server (and the reference) writes is cut out of the frame as text and
   * relayed without parsing it here or serialising it again (the local item parses
   * it only if something reads `content`); a done item needs only its type. Anything
   * else, or anything unexpected, is parsed normally.
   */
  #fast(text: string): boolean {
    let i = NOTE.length;
    let sub = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) sub = sub * 10 + (c - 48);
    if (i === NOTE.length || !text.startsWith(RESULT, i)) return false;
    const stream = this.#streams.get(sub);
    if (!stream || stream.transforms) return false;
    const start = i + RESULT.length;
    if (text.startsWith(DONE_ITEM, start) && stream.located) {
      this.#deliver(sub, stream, DONE_SEEN, text.length);
      return true;
    }
    if (!text.startsWith(DATA, start) || !text.endsWith('}}}')) return false;
    const ct = text.indexOf(CONTENT_TYPE, start + DATA.length);
    if (ct < 0) return false;
    const ctEnd = text.indexOf(CONTENT, ct + CONTENT_TYPE.length);
    if (ctEnd < 0) return false;
    // A content_type is a dot path: a quote or escape inside means this is not the framing we know.
    if (text.indexOf('"', ct + CONTENT_TYPE.length) !== ctEnd) return false;
    const backslash = text.indexOf('\\', ct);
    if (backslash >= 0 && backslash < ctEnd) return false;
    const json = text.slice(ctEnd + CONTENT.length, text.length - 3);
    const first = json.charCodeAt(0);
    const last = json.charCodeAt(json.length - 1);
    // `{…}`, `[…]`, `"…"`, a number or a literal: a cheap guard against a field after `content`.
    const balanced =
      first === 123 ? last === 125 : first === 91 ? last === 93 : first === 34 ? last === 34 : last !== 125 && last !== 93 && last !== 34;
    if (!balanced) return false;
    // The first item of a stream tells where below the mount it comes from: only its metadata is parsed.
    const raw: RawItem = stream.located
      ? { type: 'raw', json }
      : { type: 'raw', json, metadata: JSON.parse(text.slice(start + DATA.length, ct + 1)) as StreamMetadata };
    this.#deliver(sub, stream, raw as unknown as StreamItem, text.length);
    return true;
  }

  /** `{"jsonrpc":"2.0","id":<n>,"result":<n>}`, a subscribe answer, without JSON.parse. */
  #fastAnswer(text: string): boolean {
    let i = ANSWER.length;
    let id = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) id = id * 10 + (c - 48);
    if (i === ANSWER.length || !text.startsWith(RESULT_NUMBER, i)) return false;
    const from = (i += RESULT_NUMBER.length);
    let sub = 0;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) sub = sub * 10 + (c - 48);
    if (i === from || i !== text.length - 1 || text.charCodeAt(i) !== 125) return false;
    const pending = this.#pending.get(id);
    if (!pending) return true;
    this.#pending.delete(id);
    this.#answered(pending, sub);
    return true;
  }

  #receive(text: string): void {
    if (text.startsWith(NOTE)) {
      if (this.#fast(text)) return;
    } else if (text.startsWith(ANSWER) && this.#fastAnswer(text)) return;
    let msg: {
      id?: unknown;
      result?: unknown;
      error?: { code: number; message: string };
      params?: { subscription?: unknown; result?: StreamItem };
    };
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
    if (msg.error) {
      const err = new PlexusError(msg.error.code, msg.error.message);
      if (pending instanceof RelayStream) pending.fail(err);
      else pending.reject(err);
    } else this.#answered(pending, msg.result);
  }

  #deliver(sub: number, stream: RelayStream, item: StreamItem, size: number): void {
    if (item.type === 'done') this.#streams.delete(sub);
    if (!stream.push(item, size)) return;
    this.#unread += size;
    stream.unread += size;
    if (this.#holds && !stream.held && stream.unread > this.#streamHigh && item.type !== 'done') this.#hold(stream, true);
    this.#checkPause();
  }

  #closed(reason: string): void {
    if (this.lost) return;
    const err = (this.lost = this.unavailable(reason));
    const pending = [...this.#pending.values()];
    const streams = [...this.#streams.values()];
    this.#pending.clear();
    this.#streams.clear();
    this.#early.clear();
    for (const p of pending) {
      if (p instanceof RelayStream) p.fail(err);
      else p.reject(err);
    }
    for (const s of streams) s.fail(err);
  }
}
