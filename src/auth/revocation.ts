import { DEFAULT_VERBS } from '../activation/verbs.js';
import type { ObservedCall } from '../hub/policy.js';
import { ErrorCode } from '../wire/errors.js';
import type { Verb } from '../activation/verbs.js';
import { AccessDenied } from './access.js';
import type { TokenPrincipal } from './principal.js';

/** How often running calls of token holders are checked against the store (default; the store itself re-reads its file at most every 200 ms). */
export const REVOCATION_CHECK_MS = 250;

/**
 * Stops what a withdrawn credential already started. The guard refuses new calls
 * once a token is revoked or expires, but a stream it let start (a `bash.execute`
 * printing lines, a `changelog.watch`) would otherwise run on. While token holders
 * have calls running, every REVOCATION_CHECK_MS each is checked again — the token
 * still valid, and for calls to a method a grant still in force for it (a `:ttl`
 * grant may have ended) — and a call that fails the check is aborted: its method
 * stops and its caller reads `-32001 Authentication required: …`, then `done`. The
 * check is by principal, so it reaches every transport (WebSocket, stdio, MCP,
 * calls relayed from a mount) alike. The timer stops at the first check that finds
 * no token holder's call running, and starts again with the next one.
 */
/** One watched call, linked into its principal's list (unlinked in O(1), no hashing per call). */
export interface WatchedCall {
  readonly call: ObservedCall;
  prev?: WatchedCall;
  next?: WatchedCall;
}

/** A principal's running calls. */
interface Running {
  first?: WatchedCall;
  count: number;
}

export class RevocationWatch {
  readonly #running = new Map<TokenPrincipal, Running>();
  #timer?: NodeJS.Timeout;

  constructor(
    private readonly root: string,
    private readonly intervalMs = REVOCATION_CHECK_MS,
  ) {}

  /** Watches `call` until `unwatch` (when it ends): a list entry, no timer or closure per call. */
  watch(principal: TokenPrincipal, call: ObservedCall): WatchedCall {
    let running = this.#running.get(principal);
    if (!running) this.#running.set(principal, (running = { count: 0 }));
    const entry: WatchedCall = { call, next: running.first };
    if (running.first) running.first.prev = entry;
    running.first = entry;
    running.count++;
    this.#timer ??= setInterval(() => this.check(), this.intervalMs).unref();
    return entry;
  }

  /**
   * Forgets an ended call. Only that: the timer and the principal's entry go at the next
   * check that finds them idle, not per call (a unary call would otherwise start and
   * clear an interval each time).
   */
  unwatch(principal: TokenPrincipal, entry: WatchedCall): void {
    const running = this.#running.get(principal);
    if (!running || (entry.prev === undefined && running.first !== entry)) return; // not (or no longer) linked
    if (entry.prev) entry.prev.next = entry.next;
    else running.first = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
    running.count--;
  }

  /** How many calls are watched (for tests: the watch holds nothing once calls end). */
  get size(): number {
    let n = 0;
    for (const running of this.#running.values()) n += running.count;
    return n;
  }

  /** Checks every running call now; aborts those whose credential or grant was withdrawn. */
  check(now = Date.now()): void {
    for (const [principal, running] of [...this.#running]) {
      if (running.count === 0) {
        this.#running.delete(principal);
        continue;
      }
      const why = principal.unauthenticated();
      const calls: ObservedCall[] = [];
      for (let e = running.first; e; e = e.next) calls.push(e.call);
      for (const call of calls) {
        const reason = why ?? principal.lapsed(this.#grantTarget(call), now);
        // Aborting ends the call, whose observer then unwatches it.
        if (reason) call.abort(new AccessDenied(ErrorCode.AuthenticationRequired, reason));
      }
    }
    if (this.#running.size === 0) this.#stop();
  }

  /**
   * What a grant must still cover for `call` to go on: the method's grant path and
   * verbs; for a path without a method (a mounted hub's, a schema) something below
   * its first activation, which the guard required of every hop on the way; for the
   * root's own methods (quick answers, most open to every principal) nothing beyond
   * the token.
   */
  #grantTarget(call: ObservedCall): { path: string; verbs?: readonly Verb[] } | undefined {
    const segments = call.path.split('.');
    if (segments[0] === this.root) segments.shift();
    if (segments.length < 2) return undefined;
    const info = call.method();
    if (!info) return { path: segments[0]! };
    return { path: segments.join('.'), verbs: info.verbs ?? DEFAULT_VERBS };
  }

  close(): void {
    this.#running.clear();
    this.#stop();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
