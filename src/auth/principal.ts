import { grantCovers, grantJoins, grantLive, patternReachesBelow, type Grant } from './grants.js';
import type { TokenStore } from './token-store.js';
import type { Verb } from '../activation/verbs.js';

/**
 * Who is calling, and what they may do. The router asks it at every hop; it is
 * also `ctx.principal` for methods.
 */
export interface Principal {
  /** For the audit log and `ctx.principal`: a token's principal name, `anonymous`, `stdio-parent`. */
  readonly name: string;
  /** How the principal was established. */
  readonly kind: 'open' | 'trusted' | 'token' | 'unauthenticated';
  /** The token's public id (never the token), when there is one. */
  readonly tokenId?: string;
  /** Where the connection came from, for the audit log: `ws`, `mcp-http`, `stdio`, …; the peer address. */
  readonly transport?: string;
  readonly remote?: string;
  /**
   * Why calls must be refused with -32001 (no credential, or the token was revoked
   * or expired since the connection opened); undefined while authenticated.
   */
  unauthenticated(): string | undefined;
  /** May this principal call the method at `path` (no root prefix) that needs `verbs`? */
  allows(path: string, verbs: readonly Verb[]): boolean;
  /** Could any grant cover something below the activation at `prefix` (`''` is the root)? */
  reaches(prefix: string): boolean;
  /**
   * Called right before the method runs: spends a one-time grant when that is
   * what allows the call. False when it was spent meanwhile.
   */
  use(path: string, verbs: readonly Verb[]): boolean;
  /** Does it hold one-time grants (so calls must go through `use`)? */
  oneTime(): boolean;
  /** May it mount a hub as the child `name` (`_join`)? Only a live grant `_join.<name>`, spelled out, allows it. */
  mayJoin(name: string): boolean;
  /** Changes whenever the principal's grants do; a cache key for decisions. */
  readonly generation: number;
}

/** The value as a hub `Principal` (what `ctx.principal` is when the hub's own auth set it), else undefined. */
export function asPrincipal(value: unknown): Principal | undefined {
  const p = value as Principal | null | undefined;
  return typeof p === 'object' &&
    p !== null &&
    typeof p.name === 'string' &&
    typeof p.unauthenticated === 'function' &&
    typeof p.allows === 'function'
    ? p
    : undefined;
}

/** Everything allowed: a loopback hub without a token store, a trusted parent process, the owner. */
export class Unrestricted implements Principal {
  readonly generation = 0;
  constructor(
    readonly name: string,
    readonly kind: 'open' | 'trusted',
    readonly transport?: string,
    readonly remote?: string,
  ) {}
  unauthenticated(): undefined {
    return undefined;
  }
  allows(): boolean {
    return true;
  }
  reaches(): boolean {
    return true;
  }
  use(): boolean {
    return true;
  }
  oneTime(): boolean {
    return false;
  }
  mayJoin(): boolean {
    return true;
  }
}

/** Open mode (loopback, no token store): what every connection is. */
export function openPrincipal(transport?: string, remote?: string): Principal {
  return new Unrestricted('anonymous', 'open', transport, remote);
}

/** The process that spawned a stdio hub: it controls our stdin, so it is trusted. */
export function trustedPrincipal(name = 'stdio-parent', transport = 'stdio'): Principal {
  return new Unrestricted(name, 'trusted', transport);
}

/** A connection without a credential where one is required: may only ask `_info`. */
export function unauthenticatedPrincipal(transport?: string, remote?: string): Principal {
  return {
    name: 'unauthenticated',
    kind: 'unauthenticated',
    generation: 0,
    ...(transport ? { transport } : {}),
    ...(remote ? { remote } : {}),
    unauthenticated: () => 'Authentication required: present a token as "Authorization: Bearer <token>"',
    allows: () => false,
    reaches: () => false,
    use: () => false,
    oneTime: () => false,
    mayJoin: () => false,
  };
}

/** Decisions remembered per path until the store changes; bounded against invented paths. */
const DECISION_CACHE_LIMIT = 4096;

/**
 * A token holder. Reads its record from the store on every check, so a revocation,
 * an expiry or a spent one-time grant applies to connections already open.
 */
export class TokenPrincipal implements Principal {
  readonly kind = 'token';
  readonly name: string;
  readonly tokenId: string;
  #cacheGeneration = -1;
  readonly #decisions = new Map<string, boolean>();

  constructor(
    private readonly store: TokenStore,
    record: { id: string; name: string },
    readonly transport?: string,
    readonly remote?: string,
  ) {
    this.tokenId = record.id;
    this.name = record.name;
  }

  get generation(): number {
    this.store.refresh();
    return this.store.generation;
  }

  #grants(now: number): readonly Grant[] | undefined {
    const r = this.store.current(this.tokenId);
    if (!r || r.revokedAt !== undefined || (r.expiresAt !== undefined && now >= r.expiresAt)) return undefined;
    return r.grants;
  }

  unauthenticated(): string | undefined {
    const now = Date.now();
    const r = this.store.current(this.tokenId);
    if (!r || r.revokedAt !== undefined) return 'Authentication required: the token was revoked';
    if (r.expiresAt !== undefined && now >= r.expiresAt) return 'Authentication required: the token has expired';
    return undefined;
  }

  allows(path: string, verbs: readonly Verb[]): boolean {
    const generation = this.generation;
    if (generation !== this.#cacheGeneration) {
      this.#decisions.clear();
      this.#cacheGeneration = generation;
    }
    const key = verbs.length === 1 ? `${verbs[0]} ${path}` : `${verbs.join(',')} ${path}`;
    const cached = this.#decisions.get(key);
    // Decisions that depend on the clock (grants or tokens with an expiry) are never cached.
    if (cached !== undefined) return cached;
    const now = Date.now();
    const grants = this.#grants(now) ?? [];
    const decision = verbs.every((v) => grants.some((g) => grantLive(g, now) && grantCovers(g, path, v)));
    const timeless = grants.every((g) => g.expiresAt === undefined) && this.#tokenTimeless();
    if (timeless && this.#decisions.size < DECISION_CACHE_LIMIT) this.#decisions.set(key, decision);
    return decision;
  }

  #tokenTimeless(): boolean {
    return this.store.current(this.tokenId)?.expiresAt === undefined;
  }

  /**
   * Why a call this principal was allowed to start must stop now (for calls already
   * running), or undefined: no grant in force still covers `target` — the method's
   * path and verbs, or without verbs something below the activation `target.path`.
   * Only grants that ended by their `ttl` stop a call: a one-time grant spent by the
   * very call it allowed still covers it. The token itself is `unauthenticated()`'s.
   */
  lapsed(target: { path: string; verbs?: readonly Verb[] } | undefined, now = Date.now()): string | undefined {
    const grants = this.store.current(this.tokenId)?.grants;
    if (!target || !grants || grants.every((g) => g.expiresAt === undefined)) return undefined;
    const inForce = grants.filter((g) => g.expiresAt === undefined || now < g.expiresAt);
    const covered = target.verbs
      ? target.verbs.every((v) => inForce.some((g) => grantCovers(g, target.path, v)))
      : inForce.some((g) => patternReachesBelow(g.pattern, target.path));
    return covered ? undefined : `Authentication required: the grant for ${target.path} has expired`;
  }

  reaches(prefix: string): boolean {
    const now = Date.now();
    return (this.#grants(now) ?? []).some((g) => grantLive(g, now) && patternReachesBelow(g.pattern, prefix));
  }

  oneTime(): boolean {
    return (this.#grants(Date.now()) ?? []).some((g) => g.once && g.usedAt === undefined);
  }

  mayJoin(name: string): boolean {
    const now = Date.now();
    return (this.#grants(now) ?? []).some((g) => !g.once && grantLive(g, now) && grantJoins(g, name));
  }

  use(path: string, verbs: readonly Verb[]): boolean {
    const now = Date.now();
    const grants = this.#grants(now);
    if (!grants) return false;
    if (!grants.some((g) => g.once)) return this.allows(path, verbs);
    // A standing grant covers every verb: nothing to spend.
    const standing = verbs.every((v) => grants.some((g) => !g.once && grantLive(g, now) && grantCovers(g, path, v)));
    if (standing) return true;
    return this.store.useOnce(this.tokenId, path, verbs, now);
  }
}
