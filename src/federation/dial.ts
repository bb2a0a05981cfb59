import { WebSocket } from 'ws';
import type { RemoteHub } from './remote-hub.js';

export interface DialOptions {
  /** Sent on the upgrade as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** First reconnect delay (default 200 ms), doubled per failed attempt up to `maxBackoffMs` (default 5000), jittered. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long one attempt may take to open (default 5000 ms). */
  readonly connectTimeoutMs?: number;
}

/** A backoff delay with "equal jitter": half fixed, half random, so reconnecting hubs spread out. */
export function jittered(attempt: number, base: number, max: number): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Opens a WebSocket, rejecting with a readable reason when it cannot. */
export function openSocket(
  url: string,
  options: { token?: string; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
    const ws = new WebSocket(url, { headers, handshakeTimeout: options.timeoutMs ?? 5000, perMessageDeflate: false });
    const fail = (why: string): void => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(new Error(`cannot connect to ${url}: ${why}`));
    };
    ws.once('open', () => {
      ws.removeAllListeners();
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => fail(`HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
    ws.once('error', (err) => fail(err.message || (err as NodeJS.ErrnoException).code || 'connection failed'));
  });
}

/**
 * Keeps a mounted hub connected to its URL: dials, hands each new socket to the
 * mount, and after a failure or a drop dials again with jittered exponential
 * backoff, forever (until the mount is closed). The mount's `prepare()` waits for
 * the first attempt only, so a hub starts even when its remote is down.
 */
export class MountDialer {
  #attempt = 0;
  #timer?: NodeJS.Timeout;
  #stopped = false;
  #ws?: WebSocket;

  constructor(
    private readonly remote: RemoteHub,
    readonly url: string,
    private readonly options: DialOptions = {},
  ) {}

  start(): void {
    this.remote.waitFor(this.#dial(), () => this.stop());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1001, 'unmounted');
  }

  async #dial(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    let ws: WebSocket;
    try {
      ws = await openSocket(this.url, {
        ...(this.options.token ? { token: this.options.token } : {}),
        timeoutMs: this.options.connectTimeoutMs ?? 5000,
      });
    } catch (err) {
      this.remote.noteFailure((err as Error).message);
      return this.#again();
    }
    if (this.#stopped) return void ws.close(1001, 'unmounted');
    this.#ws = ws;
    ws.once('close', () => {
      if (this.#ws === ws) this.#ws = undefined;
      this.#again();
    });
    try {
      await this.remote.attach(ws);
      this.#attempt = 0;
    } catch (err) {
      this.remote.noteFailure((err as Error).message);
      ws.terminate(); // its 'close' schedules the next attempt
    }
  }

  #again(): void {
    if (this.#stopped || this.#timer) return;
    const delay = jittered(this.#attempt++, this.options.backoffMs ?? 200, this.options.maxBackoffMs ?? 5000);
    this.#timer = setTimeout(() => void this.#dial(), delay);
    this.#timer.unref();
  }
}
