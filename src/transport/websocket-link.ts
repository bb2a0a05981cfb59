/**
 * What every WebSocket link a hub serves on shares, whether a client dialled it (the
 * server) or the hub dialled it and serves its parent over it (a joined link): the
 * frame limit with its reason, and the sink with write coalescing and backpressure.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { ConnectionBytes } from './byte-budget.js';
import type { MessageSink } from './types.js';

/**
 * A WebSocket class (for ws's `WebSocket` option, or to dial with) whose frames are
 * limited to `maxFrameBytes` (pass it as `maxPayload` too): ws closes a connection
 * whose frame is over the limit with 1009 and no reason; this one gives the reason.
 */
export function framesLimitedTo(maxFrameBytes: number): typeof WebSocket {
  return class FrameLimitedSocket extends WebSocket {
    override close(code?: number, reason?: string | Buffer): void {
      super.close(code, reason ?? (code === 1009 ? `Message too big: the limit is ${maxFrameBytes} bytes` : undefined));
    }
  };
}

/** What the receiver of `ws` holds of frames not yet complete (bytes read, not yet a message). */
function partialFrameBytes(ws: WebSocket, socket: Socket): number {
  // ws keeps this private; the shape is that of the pinned ws 8. If it changes, this
  // reads 0 and the partial-frame test in test/transport/ws-bounds.test.ts fails.
  const r = (ws as unknown as { _receiver?: { _bufferedBytes?: unknown; _fragments?: unknown } })._receiver;
  let n = socket.readableLength; // read by the kernel, not yet handed to the receiver (it pushed back)
  if (r && typeof r._bufferedBytes === 'number') n += r._bufferedBytes;
  if (r && Array.isArray(r._fragments)) for (const f of r._fragments as Buffer[]) n += f.length;
  return n;
}

const EMPTY = Buffer.alloc(0);

/**
 * Where a session writes on a `ws` WebSocket, served or joined, and the one place that
 * bounds what the connection makes this process hold:
 *
 * - Backpressure: past `highWaterMark` bytes queued the sink is congested, so stream
 *   producers wait, and the connection is not read either (every reply, not only stream
 *   items, lands in the queue: a peer that pipelines requests and never reads would
 *   otherwise grow it without end). Reading resumes when the queue drains.
 * - Bytes: queued output and partial incoming frames are charged to the connection's
 *   `ConnectionBytes` (and through it to the process budget). While the process budget
 *   is spent, a connection with more than one socket buffer queued counts as congested.
 *   Queued output alone past the connection's limit (only a single huge message gets
 *   there) drops the connection; a partial frame the process cannot afford closes it with 1013.
 *
 * Coalesces writes: the TCP socket is corked on the first message and uncorked in
 * the next check phase (setImmediate), after every microtask has run. So a subscribe
 * response and the items a fast method produces right away, or a burst of stream
 * items, leave in one write while every JSON-RPC message keeps its own frame.
 */
export class WebSocketSink implements MessageSink {
  #corked = false;
  #open = true;
  /**
   * This sink dropped the connection and waits for its 'close': nothing is sent and the
   * streams stay paused until then (a producer that never awaits anything but its own
   * promises would otherwise spin on a sink that takes everything and keep 'close' from running).
   */
  #dropped = false;
  /** Bytes of queued output and of partial frames charged to `bytes` now. */
  #outCharged = 0;
  #partialCharged = 0;
  #readingPaused = false;
  /**
   * Reading was resumed and no chunk has been read since: do not pause again yet. The
   * streams that wake on the same drain refill the queue before the socket is read, so
   * without this a busy connection would never be read again (not even its close frame).
   */
  #mustRead = false;
  #waitingForRoom = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
    this.#settle();
    // The kernel took what it could. What is left under the socket's own high-water mark
    // gets no 'drain': an empty write's callback tells when it is gone.
    if (this.#open && !this.#dropped && !this.socket.destroyed && this.ws.bufferedAmount > 0 && !this.socket.writableNeedDrain)
      this.socket.write(EMPTY, this.#settleAndWake);
  };
  readonly #settleAndWake = (): void => {
    this.#settle();
    this.#wake();
  };
  readonly #onMessage = (): void => this.#chargePartial();
  readonly #onData = (): void => {
    this.#mustRead = false;
    this.#chargePartial();
    if (this.congested()) this.#pauseReading();
  };

  #waiting: (() => void)[] = [];

  constructor(
    private readonly ws: WebSocket,
    /** The TCP socket under `ws`. */
    private readonly socket: Socket,
    /** Bytes queued above which producers pause and the connection is not read. */
    private readonly highWaterMark: number,
    /** This connection's byte account (default: one of its own). */
    readonly bytes: ConnectionBytes = new ConnectionBytes(),
  ) {
    // One listener for all paused streams of this connection.
    socket.on('drain', this.#settleAndWake);
    // After ws's own listener: the receiver has handled the chunk, what it still holds is partial.
    socket.on('data', this.#onData);
    // Before the server's listener (registered after this one): a complete message is no
    // longer partial, and the stream it may open charges its bytes once, not twice.
    ws.on('message', this.#onMessage);
  }

  #wake(): void {
    if (this.congested() || this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  send(message: string): void {
    if (!this.#open || this.#dropped) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      setImmediate(this.#uncork);
    }
    this.ws.send(message);
    this.#settle();
    if (!this.#open) return;
    // Whatever sent it (a reply, an error, a stream item): a congested connection is not read.
    if (this.congested()) this.#pauseReading();
  }

  congested(): boolean {
    if (this.#dropped) return true;
    if (!this.#open) return false;
    const queued = this.ws.bufferedAmount;
    return queued > this.highWaterMark || (this.bytes.process.spent && queued > this.socket.writableHighWaterMark);
  }

  drained(): Promise<void> {
    if (!this.congested()) return Promise.resolve();
    if (this.bytes.process.spent && !this.#waitingForRoom) {
      // Congested by the process budget: also wake when another connection gives bytes back.
      this.#waitingForRoom = true;
      void this.bytes.process.room().then(() => {
        this.#waitingForRoom = false;
        this.#wake();
      });
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The connection is gone (or handed over): nothing more is sent or charged, paused pumps wake up and see their streams cancelled. */
  closed(): void {
    if (!this.#open) return;
    this.#stopCharging();
    this.#open = false;
    this.#dropped = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  /** Brings the charge for queued output up to date; past the connection's limit, drops it. */
  #settle(): void {
    if (!this.#open || this.#dropped) return;
    const queued = this.ws.bufferedAmount;
    const delta = queued - this.#outCharged;
    if (delta > 0) this.bytes.charge(delta);
    else this.bytes.release(-delta);
    this.#outCharged = queued;
    // Output alone: params are refused before they pass the limit, and a connection whose
    // streams hold most of it must still be able to queue their items.
    if (queued > this.bytes.max) {
      // A peer that lets this much pile up is not reading: a close frame would wait behind it.
      this.#drop();
      this.ws.terminate();
    }
  }

  #chargePartial(): void {
    if (!this.#open || this.#dropped) return;
    const partial = partialFrameBytes(this.ws, this.socket);
    const delta = partial - this.#partialCharged;
    if (delta > 0) this.bytes.charge(delta);
    else this.bytes.release(-delta);
    this.#partialCharged = partial;
    const budget = this.bytes.process;
    // Only the process budget closes a connection for a partial frame: one frame is at most
    // maxFrameBytes, and past the connection's own limit the stream it opens is refused (-32005).
    if (delta > 0 && budget.used > budget.max) {
      const held = `the server holds ${budget.used} of its ${budget.max} bytes`;
      this.#drop();
      this.ws.pause(); // nothing more is read: what it sends until the close completes costs nothing
      this.ws.close(1013, `Try again later: a partial message of ${partial} bytes does not fit, ${held}`.slice(0, 123));
      // Not read, so its closing handshake cannot complete: a moment for our close frame to leave, then the socket goes.
      setTimeout(() => this.ws.terminate(), 1000).unref();
    }
  }

  #stopCharging(): void {
    this.socket.off('drain', this.#settleAndWake);
    this.socket.off('data', this.#onData);
    this.ws.off('message', this.#onMessage);
    this.bytes.release(this.#outCharged + this.#partialCharged);
    this.#outCharged = 0;
    this.#partialCharged = 0;
  }

  /** Stops charging and sending for a connection this sink closes; `closed()` follows from its 'close'. */
  #drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    this.#stopCharging();
  }

  #pauseReading(): void {
    if (this.#readingPaused || this.#mustRead) return;
    this.#readingPaused = true;
    this.ws.pause();
    void this.drained().then(() => {
      this.#readingPaused = false;
      if (!this.#open || this.#dropped) return;
      this.#mustRead = true;
      this.ws.resume();
    });
  }
}
