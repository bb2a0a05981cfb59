import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { RpcConnection } from '../client/rpc-connection.js';
import { DEFAULT_PING_INTERVAL_MS, Liveness } from '../transport/liveness.js';
import { WebSocketSink } from '../transport/websocket-link.js';
import { respondParams } from '../wire/jsonrpc.js';
import { RelayStream, type RelayCaller, type RelayOptions } from './relay-stream.js';

/** How much a connection may hold of items its local consumers have not taken yet. */
export interface FlowLimits {
  /**
   * Default 1 MiB. A stream with more than a quarter of this unread locally is held at
   * the remote (`<root>.call_pause`) until it drops below a sixteenth; the socket
   * itself stops being read above 8× this in all (1× for a remote that cannot hold
   * single streams), until a quarter of that. What a held stream receives before the
   * remote confirms the hold was in flight when it was asked (a busy remote may have
   * sent megabytes by then): it counts against its own limit of 32× this, so that one
   * slow consumer does not stop the socket for every other stream.
   */
  readonly highWaterBytes?: number;
  /**
   * The remote is pinged this often (default 30 s, as a served connection); one that has
   * not answered the previous ping is dropped: the calls in flight end with
   * `remote_unavailable` and the mount dials again. A socket paused because local
   * consumers are behind is not judged.
   */
  readonly pingIntervalMs?: number;
}

/** A `ws` WebSocket and the TCP socket under it (from the upgrade), whose writes can be corked. */
export interface SocketLink {
  readonly ws: WebSocket;
  readonly socket: Socket;
}

const MiB = 1024 * 1024;

/**
 * The client side of the Plexus protocol on one WebSocket, for a mounted hub: the
 * socket was dialled by this hub (`--mount`) or dialled *to* it by the remote and
 * turned around (`--join`). The protocol itself (framing, subscription table, early
 * items, cancel) is the client's `RpcConnection`; this adds flow control. Unlike
 * `PlexusClient`, a stream's items are pulled: when a local consumer falls behind,
 * its stream is held at the remote (`…_pause`, the remote's pump stops, so its
 * producer does), and the others keep flowing. A remote that cannot hold single
 * streams gets the blunt version: the socket is paused, the kernel buffers fill,
 * and the remote server's own backpressure pauses every producer.
 */
export class RemoteConnection {
  readonly #rpc: RpcConnection;
  readonly ws: WebSocket;
  #unread = 0;
  /** Of `#unread`, the bytes held streams received before the remote confirmed their hold. */
  #inFlight = 0;
  #paused = false;
  /** The writes: the same coalescing sink as a served connection's (corked for the rest of the turn). */
  readonly #sink: WebSocketSink;
  readonly #high: number;
  /** Unread bytes of one stream above which it is held at the remote; resumed at a quarter of it. */
  readonly #streamHigh: number;
  /** The remote holds single streams (`<root>.call_pause`); false once it refused, then only the socket is paused. */
  #holds = true;
  readonly #holdRefused = (): void => {
    this.#holds = false;
    this.#checkPause();
  };

  constructor(
    link: SocketLink,
    /** Makes the error that in-flight and later calls get once the socket is gone. */
    unavailable: (reason: string) => Error,
    limits: FlowLimits = {},
  ) {
    this.ws = link.ws;
    this.#high = limits.highWaterBytes ?? MiB;
    this.#streamHigh = this.#high / 4;
    // Only requests go this way (small), so the sink's congestion signal is not used.
    this.#sink = new WebSocketSink(link.ws, link.socket, this.#high);
    this.#rpc = new RpcConnection(
      (frame) => this.#sink.send(frame),
      unavailable,
      // Items for subscriptions we never asked for: the remote is broken or hostile.
      (reason) => this.terminate(reason),
    );
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.#rpc.receive(data.toString());
    });
    // 'close' follows and cleans up; the error says why when this side broke the link
    // (a frame over the limit: the peer is sent 1009, and may never answer the close).
    let failure: Error | undefined;
    this.ws.on('error', (err: Error) => (failure ??= err));
    // The served connections' ping (a remote that freezes with its socket open sends no
    // close); never idle: the mount decides when to leave.
    const pingMs = limits.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    const liveness = new Liveness(Number.POSITIVE_INFINITY, pingMs, new Map(), {
      spareWhilePaused: true,
      onUnanswered: () => this.terminate(`the remote did not answer a ping within ${pingMs} ms`),
    });
    liveness.watch(this.ws);
    this.ws.on('close', (code: number, reason: Buffer) => {
      liveness.stop();
      this.#sink.closed();
      this.#rpc.close(
        failure ? `connection failed: ${failure.message}` : `connection closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`,
      );
    });
  }

  get open(): boolean {
    return this.#rpc.open;
  }

  /** Set once the socket closed: the error every call gets from then on. */
  get lost(): Error | undefined {
    return this.#rpc.lost;
  }

  close(code = 1000, reason = 'unmounted'): void {
    this.ws.close(code, reason);
    this.#rpc.close(reason);
  }

  /** Drops a connection that stopped answering (no closing handshake: the peer may be gone). */
  terminate(reason: string): void {
    this.ws.terminate();
    this.#rpc.close(reason);
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
    const lost = this.#rpc.lost;
    if (lost) throw lost;
    const stream = new RelayStream(this, method, options, caller);
    this.#rpc.subscribe(method, params, stream);
    return stream;
  }

  /**
   * The data contents of a call (schema and hash fetches); an error item throws.
   * `charge` is told the size of each frame as it is read, and may throw to stop
   * (the remote is then told to stop too).
   */
  async collect(method: string, params: unknown, options: RelayOptions, charge?: (bytes: number) => void): Promise<unknown[]> {
    const out: unknown[] = [];
    const stream = this.relay(method, params, options);
    let counted = 0;
    for (;;) {
      const r = await stream.next();
      if (charge && stream.received > counted) {
        const size = stream.received - counted;
        counted = stream.received;
        try {
          charge(size);
        } catch (err) {
          void stream.return();
          throw err;
        }
      }
      if (r.done) return out;
      const v = r.value as { __plexus?: unknown; json?: string } | null;
      if (typeof v !== 'object' || v === null || v.__plexus === undefined) out.push(v);
      else if (v.__plexus === 'raw') out.push(JSON.parse(v.json!));
    }
  }

  /** Called by a stream that stopped early. */
  unsubscribe(method: string, sub: number): void {
    this.#rpc.unsubscribe(method, sub);
  }

  /** Answers a question the remote asked (`<remote>.respond`); the remote reports a late or unknown id itself. */
  respond(respondMethod: string, requestId: string, response: unknown): void {
    this.#rpc.notify(respondMethod, respondParams(requestId, response));
  }

  /**
   * Unread bytes above which the socket itself stops being read: the connection's
   * limit when the remote cannot hold single streams, else a safety net well above the
   * per-stream holds (which keep one slow stream from stalling the others).
   */
  get #socketLimit(): number {
    return this.#holds ? this.#high * 8 : this.#high;
  }

  /** Whether unread bytes are past the socket's limits by `fraction` of them (1: stop reading; ¼: read again). */
  #over(fraction: number): boolean {
    // In-flight bytes are exempt only while the remote holds single streams (else nothing stops them).
    const inFlight = this.#holds ? this.#inFlight : 0;
    return this.#unread - inFlight > this.#socketLimit * fraction || inFlight > this.#high * 32 * fraction;
  }

  #checkPause(): void {
    if (!this.#paused && this.#over(1)) {
      this.#paused = true;
      this.ws.pause();
    }
  }

  /** A stream queued `size` bytes' worth of an item for its consumer: maybe hold the stream, or stop reading. */
  queued(size: number, stream: RelayStream, terminal: boolean): void {
    this.#unread += size;
    stream.unread += size;
    if (stream.holdAsked) {
      stream.inFlight += size;
      this.#inFlight += size;
    }
    if (this.#holds && !stream.held && stream.unread > this.#streamHigh && !terminal) this.#hold(stream, true);
    this.#checkPause();
  }

  /** A stream's consumer took `size` bytes' worth of items: maybe resume the stream, or read the socket again. */
  consumed(size: number, stream: RelayStream): void {
    this.#unread -= size;
    stream.unread -= size;
    // Never more than is left unread of the stream (the rest was queued before the hold).
    const inFlight = Math.max(0, stream.inFlight - stream.unread);
    stream.inFlight -= inFlight;
    this.#inFlight -= inFlight;
    if (stream.held && stream.unread <= this.#streamHigh / 4) this.#hold(stream, false);
    if (this.#paused && !this.#over(1 / 4)) {
      this.#paused = false;
      this.ws.resume();
    }
  }

  /** Asks the remote to stop (or go on) sending one stream's items. */
  #hold(stream: RelayStream, on: boolean): void {
    stream.held = on;
    const asked = on ? {} : undefined;
    stream.holdAsked = asked;
    if (stream.sub === undefined || !this.#rpc.open) return;
    this.#rpc.request(`${stream.method}_${on ? 'pause' : 'resume'}`, [stream.sub]).then(() => {
      // Confirmed: from here on the remote sends this stream nothing (until it is resumed).
      if (stream.holdAsked === asked) stream.holdAsked = undefined;
    }, this.#holdRefused);
  }
}
