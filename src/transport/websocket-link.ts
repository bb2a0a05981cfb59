/**
 * What every WebSocket link a hub serves on shares, whether a client dialled it (the
 * server) or the hub dialled it and serves its parent over it (a joined link): the
 * frame limit with its reason, and the sink with write coalescing and backpressure.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
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

/**
 * Where a session writes on a `ws` WebSocket, served or joined. The socket's buffered
 * bytes are the backpressure.
 *
 * Coalesces writes: the TCP socket is corked on the first message and uncorked in
 * the next check phase (setImmediate), after every microtask has run. So a subscribe
 * response and the items a fast method produces right away, or a burst of stream
 * items, leave in one write while every JSON-RPC message keeps its own frame.
 */
export class WebSocketSink implements MessageSink {
  #corked = false;
  #open = true;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  #waiting: (() => void)[] = [];

  constructor(
    private readonly ws: WebSocket,
    /** The TCP socket under `ws`. */
    private readonly socket: Socket,
    /** Bytes queued above which producers pause. */
    private readonly highWaterMark: number,
  ) {
    // One listener for all paused streams of this connection.
    socket.on('drain', () => this.#wake());
  }

  #wake(): void {
    if (this.congested() || this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  send(message: string): void {
    if (!this.#open) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      setImmediate(this.#uncork);
    }
    this.ws.send(message);
  }

  congested(): boolean {
    return this.#open && this.ws.bufferedAmount > this.highWaterMark;
  }

  drained(): Promise<void> {
    if (!this.congested()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The connection is gone: nothing more is sent, paused pumps wake up and see their streams cancelled. */
  closed(): void {
    this.#open = false;
    this.#wake();
  }
}
