/**
 * Open streams across every connection of a server. The per-connection cap alone
 * lets many connections together hold any number of paused streams; this bounds
 * the total.
 */
export const DEFAULT_MAX_TOTAL_STREAMS = 100_000;

export class StreamBudget {
  #open = 0;
  constructor(readonly max = DEFAULT_MAX_TOTAL_STREAMS) {}

  get open(): number {
    return this.#open;
  }

  /** Takes one stream; false when the budget is spent. */
  take(): boolean {
    if (this.#open >= this.max) return false;
    this.#open++;
    return true;
  }

  release(n = 1): void {
    this.#open = Math.max(0, this.#open - n);
  }
}
