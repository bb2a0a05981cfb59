import type { Activation, MethodInfo } from '../activation/types.js';
import type { CallObserver } from '../stream/call-stream.js';
import { PlexusError } from '../wire/errors.js';

/**
 * What a route guard is asked, once per hop of a call: the root first, then each
 * activation on the way down, last the one that owns the method (or a mounted node
 * that routes the rest itself). It runs before params are validated.
 */
export interface AccessCheck {
  /** Who is calling (`CallOptions.principal`); undefined when nobody said. */
  readonly principal: unknown;
  /** The node being entered. */
  readonly node: Activation;
  /** Segments from the root to `node`, without the root's name (empty for the root). */
  readonly at: readonly string[];
  /** The called path, as the items' `content_type` shows it, e.g. `solar.earth.info`. */
  readonly path: string;
  /** True on the hop that runs the call: the method's owner, or a mounted node. */
  readonly final: boolean;
  /** On the final hop of a method call: the method. Undefined for `schema` and mounted nodes. */
  readonly method?: MethodInfo;
  /** On the final hop: the params as called (not validated yet). */
  readonly params?: Readonly<Record<string, unknown>>;
  /**
   * On the final hop: the call being guarded, for a guard that holds it (an approval):
   * its cancellation signal, and a way to tell the caller why it waits (a `progress` item).
   */
  readonly call?: GuardedCall;
}

/** What a guard may do with the call it holds. */
export interface GuardedCall {
  /** Aborts when the caller cancels or the call is withdrawn (a revoked token). */
  readonly signal: AbortSignal;
  /** Puts a `progress` item with `message` into the call's stream, before any of the method's. */
  progress(message: string): void;
}

/**
 * Access control seam: throw (a `PlexusError` with `ErrorCode.Forbidden` or
 * `AuthenticationRequired`, say) to refuse; the call then ends with that error
 * item. May be async. The default is no guard: every call passes.
 */
export type RouteGuard = (check: AccessCheck) => void | PromiseLike<void>;

/** A call made through the hub, as a policy's call observer sees it when the call is created. */
export interface ObservedCall {
  /** Who is calling (`CallOptions.principal`); undefined for trusted in-process code. */
  readonly principal: unknown;
  /** The path as called, e.g. `echo.echo`. */
  readonly path: string;
  /** The params as called (unvalidated). */
  readonly params: unknown;
  /** The method the path resolved to, once it has been routed; undefined while unrouted or when it is no method. */
  method(): MethodInfo | undefined;
  /**
   * Withdraws the call while it runs: the method is stopped (its signal aborts, a
   * generator's `finally` runs) and the caller reads `err` as an `error` item, then
   * `done`. For a policy whose answer changed meanwhile (the caller's token was
   * revoked); nothing once the call has ended.
   */
  abort(err: unknown): void;
}

/** Who a joined name is bound to: a stable id (never a secret) and a label for people. */
export interface JoinCredential {
  /** E.g. `token:tok_19ac1e3dedb5`; a later join under the same name must present the same. */
  readonly id: string;
  /** E.g. the token's principal name, for listings and logs. */
  readonly label: string;
}

/** One `_join` attempt as the policy is told about it: admitted (mounted, or re-attached) or refused. */
export interface JoinEvent {
  /** The joining connection's principal (from its upgrade). */
  readonly principal: unknown;
  /** The child name asked for (as sent, when it was not a valid name). */
  readonly name: string;
  readonly outcome: 'mounted' | 'remounted' | 'refused';
  /** The JSON-RPC error code of a refusal. */
  readonly code?: number;
  /** Why it was refused. */
  readonly reason?: string;
}

/**
 * The hub's policy: who may call and see what, and who watches the calls. The hub
 * consults it and knows nothing else about authentication; `HubAuth` (src/auth) is
 * the implementation `hub serve` uses. Every member is optional: a missing one
 * allows everything and costs nothing.
 */
export interface HubPolicy {
  /** The root name the policy was made for; the hub refuses a policy of another hub. */
  readonly hub?: string;
  /**
   * Asked once per hop of every call, before params are validated (see `RouteGuard`).
   * Leave it undefined when every call passes: the router then skips the hop loop.
   */
  readonly guard?: RouteGuard;
  /**
   * May `principal` see the node at `at` (without `method`), or that method of it?
   * The one visibility answer: the router asks it at every hop of every call (before
   * the guard sees that hop) and for each method, the hub for schemas, `schema
   * {method}` and `<root>.hashes`, the MCP bridge for `tools/list` and `tools/call`.
   * A hidden node or method is treated as absent, so it fails byte for byte like a
   * missing one (same message, code, provenance and point of failure); the guard
   * never sees a hop the principal may not see. Synchronous and cheap: it runs on
   * the hot path.
   */
  visible?(principal: unknown, node: Activation, at: readonly string[], method?: MethodInfo): boolean;
  /** Throws when `principal` may ask nothing at all (e.g. -32001 for an unauthenticated caller); asked before a schema is read. */
  admit?(principal: unknown): void;
  /** Watches one call from its creation: the observer it returns is told how the call ended and may add `done` metadata. */
  readonly observeCall?: (call: ObservedCall) => CallObserver | undefined;
  /**
   * May `principal` mount a hub as this hub's child `name` (federation's `_join`)?
   * Returns the credential the name is then bound to; throws a `PlexusError`
   * (`AuthenticationRequired`, `Forbidden`) to refuse. Undefined: the policy does not
   * decide joins, and the join acceptor needs a join token instead.
   */
  readonly authorizeJoin?: (principal: unknown, name: string) => JoinCredential;
  /** Told about every join attempt, admitted or refused (for the audit log). */
  readonly observeJoin?: (event: JoinEvent) => void;
  /** The tree changed: decisions remembered about it are stale. */
  treeChanged?(): void;
  /** How callers authenticate, as `_info` advertises it. Default: anonymous. */
  mechanisms?(): readonly Record<string, unknown>[];
}

/**
 * The refusal of a path the principal may not see: on the wire exactly the "not
 * found" a missing path gets (it is built from the same `PlexusError`), but a
 * distinct class, so a call observer (the audit log) can record it as a denial.
 */
export class NotVisible extends PlexusError {
  constructor(notFound: PlexusError) {
    super(notFound.code, notFound.message, notFound.recoverable);
  }
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * One guard that asks each of `guards` in order (an async one is awaited before the
 * next is asked); the first to throw refuses. Undefined when none is set, so the
 * router can skip the hop loop.
 */
export function composeGuards(guards: readonly (RouteGuard | undefined)[]): RouteGuard | undefined {
  const list = guards.filter((g): g is RouteGuard => g !== undefined);
  if (list.length <= 1) return list[0];
  const askFrom = (check: AccessCheck, from: number): void | PromiseLike<void> => {
    for (let i = from; i < list.length; i++) {
      const verdict = list[i]!(check);
      if (isPromiseLike(verdict)) return Promise.resolve(verdict).then(() => askFrom(check, i + 1));
    }
  };
  return (check) => askFrom(check, 0);
}
