import type { Activation, MethodInfo } from '../activation/types.js';
import type { CallObserver } from '../stream/call-stream.js';

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
   * The one visibility answer behind schemas, `schema {method}` and the MCP tool
   * list; it must agree with `guard`, so a call, a schema and `tools/list` never
   * disagree. A hidden path then fails exactly like a missing one.
   */
  visible?(principal: unknown, node: Activation, at: readonly string[], method?: MethodInfo): boolean;
  /** Throws when `principal` may ask nothing at all (e.g. -32001 for an unauthenticated caller); asked before a schema is read. */
  admit?(principal: unknown): void;
  /** Watches one call from its creation: the observer it returns is told how the call ended and may add `done` metadata. */
  readonly observeCall?: (call: ObservedCall) => CallObserver | undefined;
  /** The tree changed: decisions remembered about it are stale. */
  treeChanged?(): void;
  /** How callers authenticate, as `_info` advertises it. Default: anonymous. */
  mechanisms?(): readonly Record<string, unknown>[];
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
