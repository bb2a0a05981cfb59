/**
 * Reconnect backoff, the one implementation every side uses (the client's connect
 * attempts, mounts and joins): exponential from `backoffMs`, capped at
 * `maxBackoffMs`, with "equal jitter" (half fixed, half random) so peers that lost
 * the same server do not all come back at once.
 */
export interface BackoffOptions {
  /** Delay before the first retry (default 200 ms), doubled per failed attempt up to `maxBackoffMs`. */
  readonly backoffMs?: number;
  /** Longest delay between attempts (default 5000 ms). */
  readonly maxBackoffMs?: number;
}

export const DEFAULT_BACKOFF_MS = 200;
export const DEFAULT_MAX_BACKOFF_MS = 5000;

/** The delay before retry number `attempt` (0 for the first retry), in [ceiling / 2, ceiling]. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const ceiling = Math.min(options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, base * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Resolves after the delay before retry number `attempt`. */
export function backoff(attempt: number, options: BackoffOptions = {}): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, options)));
}

/**
 * Keeps a link up: `retry()` after a failure or a drop runs `dial` again after the
 * next backoff delay (once, however often it is called before then), `connected()`
 * starts the delays over, `stop()` ends it for good.
 */
export class Redial {
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    private readonly dial: () => void,
    private readonly options: BackoffOptions & {
      /** The pending retry does not keep a Node process alive (a mount lives as long as its hub, not longer). */
      readonly unref?: boolean;
    } = {},
  ) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  retry(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (!this.#stopped) this.dial();
      },
      backoffDelay(this.#attempt++, this.options),
    );
    if (this.options.unref) (this.#timer as { unref?: () => void }).unref?.();
  }

  connected(): void {
    this.#attempt = 0;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
