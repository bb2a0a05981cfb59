/**
 * Refusals of callers without a credential are summarised, not recorded one by one:
 * a client with no token (or one throttled for failed authentications) can send as
 * many calls as the network carries, and each would otherwise be a record with its
 * params. Per remote address and outcome, the first refusal is recorded at once
 * (`count: 1`); the rest of the interval is only counted, and when it ends one
 * record carries the count (and starts the next interval). So each (address,
 * outcome) writes at most one record per interval, without params, whatever the
 * client sends.
 */
import type { AuditEvent, AuditOutcome } from './audit-log.js';

/** The outcomes summarised: refused before any credential was checked. */
export const SUMMARISED_OUTCOMES: ReadonlySet<AuditOutcome> = new Set(['unauthenticated', 'throttled']);

/** One record per address and outcome per this many ms (default one minute). */
export const DEFAULT_SUMMARY_INTERVAL_MS = 60_000;
/** Addresses tracked at once; past it, new ones share one window under the address `*`. */
export const DEFAULT_SUMMARY_ADDRESSES = 10_000;
/** The part of a refused call's path a record keeps (the path is the caller's text). */
const MAX_PATH = 128;
/** A refusal's reason is the server's text; kept on the first record of a window, this long at most. */
const MAX_REASON = 200;

export interface RefusalSummaryOptions {
  readonly intervalMs?: number;
  readonly maxAddresses?: number;
}

interface Window {
  /** The fields every record of this window carries (no params, a short path at most). */
  readonly base: AuditEvent;
  /** Refusals since the window's record. */
  count: number;
  timer: NodeJS.Timeout;
}

export class RefusalSummary {
  readonly intervalMs: number;
  readonly #maxAddresses: number;
  readonly #windows = new Map<string, Window>();
  readonly #write: (event: AuditEvent) => number;

  constructor(write: (event: AuditEvent) => number, options: RefusalSummaryOptions = {}) {
    this.#write = write;
    this.intervalMs = options.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.#maxAddresses = options.maxAddresses ?? DEFAULT_SUMMARY_ADDRESSES;
  }

  /** Counts one refusal; returns the seq of the record written for it, or 0 when it was only counted. */
  add(event: AuditEvent): number {
    // A revoked token's holder keeps its name and token id, apart from callers with none.
    // The event too: a throttled enrollment and a throttled authentication are different refusals.
    const who = `${event.event}\u0000${event.outcome}\u0000${event.principal}\u0000${event.token_id ?? ''}`;
    let remote = (event.remote ?? 'unknown').slice(0, 64);
    let key = `${who}\u0000${remote}`;
    if (!this.#windows.has(key) && this.#windows.size >= this.#maxAddresses) {
      remote = '*';
      key = `${who}\u0000*`;
    }
    const open = this.#windows.get(key);
    if (open) {
      open.count++;
      return 0;
    }
    const path = event.path === undefined ? undefined : event.path.slice(0, MAX_PATH);
    const base: AuditEvent = {
      event: event.event,
      principal: event.principal,
      outcome: event.outcome,
      remote,
      ...(event.token_id !== undefined ? { token_id: event.token_id } : {}),
      ...(event.transport !== undefined ? { transport: event.transport.slice(0, 32) } : {}),
      ...(event.code !== undefined ? { code: event.code } : {}),
    };
    const window: Window = { base, count: 0, timer: this.#timer(key) };
    this.#windows.set(key, window);
    // The first record keeps the server's own reason (never the caller's params), cut short.
    const reason = event.reason === undefined ? undefined : event.reason.slice(0, MAX_REASON);
    return this.#write({ ...base, ...(path !== undefined ? { path } : {}), ...(reason !== undefined ? { reason } : {}), count: 1 });
  }

  /** Writes the counts still pending (at close). */
  flush(): void {
    for (const [key, w] of this.#windows) {
      clearTimeout(w.timer);
      if (w.count > 0) this.#write({ ...w.base, count: w.count });
      this.#windows.delete(key);
    }
  }

  #timer(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.#end(key), this.intervalMs);
    timer.unref();
    return timer;
  }

  /** An interval ended: a quiet address is forgotten; a busy one gets its count recorded, which opens its next interval. */
  #end(key: string): void {
    const w = this.#windows.get(key);
    if (!w) return;
    if (w.count === 0) {
      this.#windows.delete(key);
      return;
    }
    this.#write({ ...w.base, count: w.count });
    w.count = 0;
    w.timer = this.#timer(key);
  }
}
