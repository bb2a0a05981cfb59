import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { RpcSession } from './rpc-session.js';

/** How long a connection may be idle: no open stream and no message or ping from its peer. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** How often a connection is pinged; one that has not answered the previous ping is dropped. */
export const DEFAULT_PING_INTERVAL_MS = 30_000;

interface State {
  /** Last message or ping from the peer, or the end of its last stream. */
  lastSeen: number;
  /** The peer answered our last ping (or we have not pinged yet). */
  answered: boolean;
  /** The payload of our last ping: only a pong that carries it back is an answer. */
  payload?: Buffer;
}

/**
 * Keeps only live, used connections: one that has had no open stream and no message
 * or ping from its peer for `idleMs` is closed (1001), and one that does not answer
 * a ping within `pingMs` is dropped (a peer gone without a FIN would otherwise keep
 * its paused streams forever). One timer per server (or joined link), not per
 * connection.
 */
export interface LivenessOptions {
  /**
   * A socket this side stopped reading (`ws.pause()`) is not pinged: its pong would wait
   * unread. For a mount, which pauses a healthy remote when its own consumers are slow.
   */
  readonly spareWhilePaused?: boolean;
  /** What to do with a peer that did not answer the last ping (default: `ws.terminate()`). */
  readonly onUnanswered?: (ws: WebSocket) => void;
}

export class Liveness {
  readonly #states = new Map<WebSocket, State>();
  readonly #timer: NodeJS.Timeout;
  #lastPing = Date.now();

  constructor(
    private readonly idleMs: number,
    private readonly pingMs: number,
    private readonly sessions: ReadonlyMap<WebSocket, RpcSession>,
    private readonly options: LivenessOptions = {},
  ) {
    this.#timer = setInterval(() => this.#sweep(), Math.max(10, Math.min(idleMs / 4, pingMs / 2, 10_000)));
    this.#timer.unref();
  }

  watch(ws: WebSocket): void {
    const state: State = { lastSeen: Date.now(), answered: true };
    this.#states.set(ws, state);
    // An unsolicited pong (or one echoing an older ping) proves nothing: a peer that never
    // reads could send one a second and stay forever. Only the echo of the last ping counts.
    ws.on('pong', (data: Buffer) => {
      if (state.payload !== undefined && data.equals(state.payload)) state.answered = true;
    });
    ws.on('ping', () => (state.lastSeen = Date.now()));
  }

  seen(ws: WebSocket): void {
    const state = this.#states.get(ws);
    if (state) state.lastSeen = Date.now();
  }

  forget(ws: WebSocket): void {
    this.#states.delete(ws);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sweep(): void {
    const now = Date.now();
    const ping = now - this.#lastPing >= this.pingMs;
    if (ping) this.#lastPing = now;
    for (const [ws, state] of this.#states) {
      // A timer callback that throws would take the process down: one socket's trouble stays its own.
      try {
        this.#check(ws, state, now, ping);
      } catch {
        this.#states.delete(ws);
        ws.terminate();
      }
    }
  }

  #check(ws: WebSocket, state: State, now: number, ping: boolean): void {
    if (ping && this.options.spareWhilePaused && ws.isPaused) {
      // Not read, so not judged: the next ping after reading resumes counts.
      state.answered = true;
      state.payload = undefined;
    } else if (ping) {
      if (!state.answered) {
        this.#states.delete(ws);
        if (this.options.onUnanswered) this.options.onUnanswered(ws);
        else ws.terminate(); // 'close' follows: the session cancels its streams
        return;
      }
      state.answered = false;
      state.payload = randomBytes(16);
      ws.ping(state.payload);
    }
    const busy = (this.sessions.get(ws)?.activeStreams ?? 0) > 0;
    if (busy)
      state.lastSeen = now; // idle time counts from the end of the last stream
    else if (now - state.lastSeen >= this.idleMs) {
      this.#states.delete(ws);
      ws.close(
        1001,
        `Idle timeout: no stream and no message for ${this.idleMs >= 1000 ? `${Math.round(this.idleMs / 1000)} s` : `${this.idleMs} ms`}`,
      );
    }
  }
}
