export interface FailedAuthLimiterOptions {
  /** Failures an address may make in a burst (default 10). */
  readonly burst?: number;
  /** One more failure is allowed every this many ms (default 6000: 10 a minute). */
  readonly refillMs?: number;
  /** Addresses tracked at most; the oldest entry goes first (default 10,000). */
  readonly maxAddresses?: number;
  /** Failures all addresses together may make in a burst (default 100). */
  readonly globalBurst?: number;
  /** One more failure from anywhere is allowed every this many ms (default 100: 10 a second). */
  readonly globalRefillMs?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket: `burst` failures, refilling one every `refillMs`. */
function refill(b: Bucket, burst: number, refillMs: number, now: number): void {
  b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) / refillMs);
  b.at = now;
}

function wait(b: Bucket, refillMs: number): number {
  return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) * refillMs);
}

/**
 * Throttles **failed** authentications, per remote address and globally (token
 * buckets). It is asked only after a credential has failed its check: a valid
 * credential always gets in, whatever its address did (on a loopback hub every local
 * client shares 127.0.0.1, so throttling the address first would let one process with
 * a wrong token lock out every other). Once an address, or all addresses together
 * (many addresses guessing at once), have used their burst, each further failure is
 * answered 429 instead of 401 until the bucket refills: online guessing stays slow
 * and the refusals cheap, and tokens are 256-bit random, so a throttled guesser that
 * happens to present a valid token has not guessed it.
 */
export class FailedAuthLimiter {
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #max: number;
  readonly #globalBurst: number;
  readonly #globalRefillMs: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #global: Bucket;

  constructor(options: FailedAuthLimiterOptions = {}) {
    this.#burst = options.burst ?? 10;
    this.#refillMs = options.refillMs ?? 6000;
    this.#max = options.maxAddresses ?? 10_000;
    this.#globalBurst = options.globalBurst ?? 100;
    this.#globalRefillMs = options.globalRefillMs ?? 100;
    this.#global = { tokens: this.#globalBurst, at: 0 };
  }

  /** 0 when a failure from `address` is still answered normally; else how many ms until it will be. */
  retryAfter(address: string, now = Date.now()): number {
    refill(this.#global, this.#globalBurst, this.#globalRefillMs, now);
    const b = this.#bucket(address, now);
    return Math.max(b ? wait(b, this.#refillMs) : 0, wait(this.#global, this.#globalRefillMs));
  }

  /** How many addresses are tracked now (at most `maxAddresses`). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Records a failed authentication from `address`. */
  fail(address: string, now = Date.now()): void {
    refill(this.#global, this.#globalBurst, this.#globalRefillMs, now);
    this.#global.tokens = Math.max(0, this.#global.tokens - 1);
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
    refill(b, this.#burst, this.#refillMs, now);
    if (b.tokens >= this.#burst) {
      this.#buckets.delete(address); // full again: forget it
      return undefined;
    }
    return b;
  }
}
