export interface FailedAuthLimiterOptions {
  /** Failures an address may make in a burst (default 10). */
  readonly burst?: number;
  /** One more failure is allowed every this many ms (default 6000: 10 a minute). */
  readonly refillMs?: number;
  /** Addresses tracked at most; the oldest entry goes first (default 10,000). */
  readonly maxAddresses?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Throttles failed authentications per remote address (a token bucket): once an
 * address has used its burst, every attempt from it is refused without checking the
 * credential until the bucket refills, so tokens cannot be guessed online.
 */
export class FailedAuthLimiter {
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #max: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: FailedAuthLimiterOptions = {}) {
    this.#burst = options.burst ?? 10;
    this.#refillMs = options.refillMs ?? 6000;
    this.#max = options.maxAddresses ?? 10_000;
  }

  /** 0 when `address` may try; else how many ms until it may. */
  retryAfter(address: string, now = Date.now()): number {
    const b = this.#bucket(address, now);
    if (!b || b.tokens >= 1) return 0;
    return Math.ceil((1 - b.tokens) * this.#refillMs);
  }

  /** Records a failed authentication from `address`. */
  fail(address: string, now = Date.now()): void {
    const b = this.#bucket(address, now) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.max(0, b.tokens - 1);
    // Re-insert so the Map's order is least recently failed first.
    this.#buckets.delete(address);
    this.#buckets.set(address, b);
    if (this.#buckets.size > this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
  }

  #bucket(address: string, now: number): Bucket | undefined {
    const b = this.#buckets.get(address);
    if (!b) return undefined;
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) / this.#refillMs);
    b.at = now;
    if (b.tokens >= this.#burst) {
      this.#buckets.delete(address); // full again: forget it
      return undefined;
    }
    return b;
  }
}
