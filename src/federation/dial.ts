import type { Socket as TcpSocket } from 'node:net';
import { WebSocket } from 'ws';
import { Redial, type BackoffOptions } from '../client/backoff.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../transport/types.js';
import { framesLimitedTo } from '../transport/websocket-link.js';
import type { SocketLink } from './remote-connection.js';
import type { RemoteHub } from './remote-hub.js';

export interface DialOptions extends BackoffOptions {
  /** Sent on the upgrade as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** How long one attempt may take to open (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /**
   * Largest frame accepted from the remote (default 1 MiB, as on a served
   * connection); a bigger one closes the link with 1009 and the dialer tries again.
   */
  readonly maxFrameBytes?: number;
}

/**
 * Opens a WebSocket, rejecting with a readable reason when it cannot. With
 * `maxFrameBytes` (a link this hub serves on) a bigger frame from the peer closes it
 * with 1009, as on a served connection.
 */
export function openSocket(
  url: string,
  options: { token?: string; timeoutMs?: number; headers?: Record<string, string>; maxFrameBytes?: number } = {},
): Promise<SocketLink> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
    const Impl = options.maxFrameBytes === undefined ? WebSocket : framesLimitedTo(options.maxFrameBytes);
    const ws = new Impl(url, {
      headers,
      handshakeTimeout: options.timeoutMs ?? 5000,
      perMessageDeflate: false,
      ...(options.maxFrameBytes === undefined ? {} : { maxPayload: options.maxFrameBytes }),
    });
    let socket: TcpSocket | undefined;
    const fail = (why: string): void => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(new Error(`cannot connect to ${url}: ${why}`));
    };
    // The upgrade response carries the TCP socket the WebSocket then runs on.
    ws.once('upgrade', (res) => (socket = res.socket as TcpSocket));
    ws.once('open', () => {
      ws.removeAllListeners();
      resolve({ ws, socket: socket! });
    });
    ws.once('unexpected-response', (_req, res) => fail(`HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
    ws.once('error', (err) => fail(err.message || (err as NodeJS.ErrnoException).code || 'connection failed'));
  });
}

/**
 * Keeps a mounted hub connected to its URL: dials, hands each new socket to the
 * mount, and after a failure or a drop dials again with backoff (`Redial`), forever
 * (until the mount is closed). The mount's `prepare()` waits for the first attempt
 * only, so a hub starts even when its remote is down.
 */
export class MountDialer {
  readonly #redial: Redial;
  #ws?: WebSocket;

  constructor(
    private readonly remote: RemoteHub,
    readonly url: string,
    private readonly options: DialOptions = {},
  ) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxFrameBytes must be a positive integer, not ${max}`);
    this.#redial = new Redial(() => void this.#dial(), { ...options, unref: true });
  }

  start(): void {
    this.remote.waitFor(this.#dial(), () => this.stop());
  }

  stop(): void {
    this.#redial.stop();
    this.#ws?.close(1001, 'unmounted');
  }

  async #dial(): Promise<void> {
    if (this.#redial.stopped) return;
    let link: SocketLink;
    try {
      link = await openSocket(this.url, {
        ...(this.options.token ? { token: this.options.token } : {}),
        timeoutMs: this.options.connectTimeoutMs ?? 5000,
        maxFrameBytes: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      });
    } catch (err) {
      this.remote.noteFailure((err as Error).message);
      return this.#redial.retry();
    }
    const ws = link.ws;
    if (this.#redial.stopped) return void ws.close(1001, 'unmounted');
    this.#ws = ws;
    ws.once('close', () => {
      if (this.#ws === ws) this.#ws = undefined;
      this.#redial.retry();
    });
    try {
      await this.remote.attach(link);
      this.#redial.connected();
    } catch (err) {
      this.remote.noteFailure((err as Error).message);
      ws.terminate(); // its 'close' schedules the next attempt
    }
  }
}
