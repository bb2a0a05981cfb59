/**
 * Memory held for peers, counted in bytes: the params an open (or paused) stream keeps
 * alive, the output queued for a peer that does not read, and the partial WebSocket
 * frames a peer has not finished sending. Counting streams alone let one connection pin
 * 1,024 × 1 MiB of params; counting bytes bounds what the process holds whatever the
 * shape of the traffic.
 *
 * Two levels: one `ByteBudget` per process (every server of it may share it, and so may
 * any other bridge that holds memory for a peer, e.g. MCP tool calls), and one
 * `ConnectionBytes` account per connection that charges through to it. A refusal names
 * the bytes held and the limit.
 */
import { ErrorCode, PlexusError } from '../wire/errors.js';

const MiB = 1024 * 1024;
/** Bytes one process may hold for all its peers (params, queued output, partial frames). */
export const DEFAULT_MAX_TOTAL_BYTES = 512 * MiB;
/** Bytes one connection may hold (its streams' params, its queued output, its partial frame). */
export const DEFAULT_MAX_CONNECTION_BYTES = 64 * MiB;

export class ByteBudget {
  #used = 0;
  #waiters: (() => void)[] = [];

  constructor(readonly max = DEFAULT_MAX_TOTAL_BYTES) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the byte budget must be a positive integer, not ${max}`);
  }

  get used(): number {
    return this.#used;
  }

  /** True when nothing more fits: senders that hold output wait (`room()`), new holders are refused. */
  get spent(): boolean {
    return this.#used >= this.max;
  }

  /** Takes `n` bytes if they fit; false (nothing taken) when they would pass the limit. */
  take(n: number): boolean {
    if (this.#used + n > this.max) return false;
    this.#used += n;
    return true;
  }

  /** Counts bytes that are already held (queued output, a partial frame): never refused, may pass the limit. */
  charge(n: number): void {
    this.#used += n;
  }

  release(n: number): void {
    if (n <= 0) return;
    this.#used = Math.max(0, this.#used - n);
    if (!this.spent && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves once the budget is no longer spent (at once when it is not). */
  room(): Promise<void> {
    if (!this.spent) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * The refusal for a holder of `n` more bytes: -32005 with the bytes named.
   * For bridges that charge this budget (e.g. an MCP tool call): `if (!budget.take(n)) throw budget.refusal(n, 'this tool call')`.
   */
  refusal(n: number, what: string): PlexusError {
    return new PlexusError(
      ErrorCode.TooManyStreams,
      `Too much memory held: ${what} needs ${n} bytes, and the server already holds ${this.#used} of its ${this.max} bytes for its peers (the limit)`,
    );
  }
}

/**
 * One connection's share: refuses what would pass the connection's own limit or the
 * process budget, and gives everything back when the connection ends.
 */
export class ConnectionBytes {
  #held = 0;

  constructor(
    readonly process: ByteBudget = new ByteBudget(),
    readonly max = DEFAULT_MAX_CONNECTION_BYTES,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the connection byte limit must be a positive integer, not ${max}`);
  }

  get held(): number {
    return this.#held;
  }

  /** Takes `n` bytes for something new (a stream's params); throws -32005 naming the bytes when they do not fit. */
  take(n: number, what: string): void {
    if (this.#held + n > this.max) {
      throw new PlexusError(
        ErrorCode.TooManyStreams,
        `Too much memory held: ${what} needs ${n} bytes, and this connection already holds ${this.#held} of its ${this.max} bytes (the limit)`,
      );
    }
    if (!this.process.take(n)) throw this.process.refusal(n, what);
    this.#held += n;
  }

  /** Counts bytes already held (never refused): the caller decides what passing the limit means. */
  charge(n: number): void {
    this.#held += n;
    this.process.charge(n);
  }

  release(n: number): void {
    const back = Math.min(n, this.#held);
    if (back <= 0) return;
    this.#held -= back;
    this.process.release(back);
  }

  /** The connection is gone: everything it held goes back. */
  releaseAll(): void {
    this.release(this.#held);
  }
}
