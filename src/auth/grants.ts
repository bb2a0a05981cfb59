import { parseDuration } from './duration.js';
import { isVerb, VERBS, type Verb } from '../activation/verbs.js';

/**
 * Permission for a principal to use `verbs` on the methods whose dot path matches
 * `pattern`. Patterns are dot segments; `*` matches exactly one segment, `**` any
 * number (zero included). Paths are the routed paths without the root prefix
 * (`echo.echo`, `solar.earth.info`); the root's own methods are `<root>.hash` etc.
 */
export interface Grant {
  readonly pattern: string;
  readonly verbs: readonly Verb[];
  /** Unix milliseconds after which the grant no longer applies. */
  readonly expiresAt?: number;
  /** Good for one call; `usedAt` is set when it has been used. */
  readonly once?: boolean;
  readonly usedAt?: number;
}

const SEGMENT = /^(\*\*|\*|[a-z][a-z0-9_]*)$/;

/**
 * Parses the CLI form `pattern[:verbs][:once][:ttl=<duration>]`:
 * `arbor.*:read,write`, `bash.execute:execute:once`, `echo.*:read:ttl=1h`.
 * Without verbs the grant is `read`.
 */
export function parseGrant(text: string, now = Date.now()): Grant {
  const [rawPattern, verbText = 'read', ...flags] = text.split(':');
  const pattern = rawPattern!.trim();
  checkPattern(pattern);
  const verbs = verbText
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (verbs.length === 0) throw new Error(`Grant "${text}": no verbs after ':' (use ${VERBS.join(', ')})`);
  for (const v of verbs) {
    if (!isVerb(v)) throw new Error(`Grant "${text}": unknown verb "${v}"; verbs are ${VERBS.join(', ')}`);
  }
  if (verbs.includes('execute') && hasWildcard(pattern)) {
    throw new Error(`Grant "${text}": execute can only be granted on a path without wildcards (e.g. bash.execute:execute)`);
  }
  if (isJoinPattern(pattern) && hasWildcard(pattern)) {
    throw new Error(`Grant "${text}": a join is granted for one name only, without wildcards (e.g. ${JOIN_GRANT_SEGMENT}.edge1)`);
  }
  let once = false;
  let expiresAt: number | undefined;
  for (const flag of flags) {
    if (flag === 'once') once = true;
    else if (flag.startsWith('ttl=')) expiresAt = now + parseDuration(flag.slice(4));
    else throw new Error(`Grant "${text}": unknown option "${flag}" (use once or ttl=<duration>)`);
  }
  // A joined hub re-joins after every drop: a grant spent by its first join would strand it.
  if (once && isJoinPattern(pattern))
    throw new Error(`Grant "${text}": a join grant cannot be one-time (a joined hub re-joins after every drop)`);
  return { pattern, verbs: [...new Set(verbs as Verb[])], ...(once ? { once } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) };
}

/**
 * The first segment of a join grant, `_join.<name>`: the right to mount a hub as the
 * child `name` (federation's `_join`). No activation can be called `_join` (names start
 * with a letter), so such a grant never covers a call, and only the exact pattern
 * grants a join: no wildcard stands for it, as for `execute`.
 */
export const JOIN_GRANT_SEGMENT = '_join';

export function isJoinPattern(pattern: string): boolean {
  return pattern.startsWith(`${JOIN_GRANT_SEGMENT}.`);
}

/** Does `grant` give the right to join as the child `name`? Only `_join.<name>` spelled out does. */
export function grantJoins(grant: Grant, name: string): boolean {
  return grant.pattern === `${JOIN_GRANT_SEGMENT}.${name}`;
}

export function checkPattern(pattern: string): void {
  if (pattern === '') throw new Error('Grant pattern is empty');
  if (isJoinPattern(pattern)) {
    // `_join.<one segment>`; a hand-edited wildcard loads but grants nothing (see grantJoins).
    const rest = pattern.slice(JOIN_GRANT_SEGMENT.length + 1);
    if (!SEGMENT.test(rest))
      throw new Error(`Grant pattern "${pattern}": a join grant is ${JOIN_GRANT_SEGMENT}.<name>, one name matching [a-z][a-z0-9_]*`);
    return;
  }
  for (const seg of pattern.split('.')) {
    if (!SEGMENT.test(seg)) {
      throw new Error(`Grant pattern "${pattern}": segment "${seg}" must be *, ** or a name matching [a-z][a-z0-9_]*`);
    }
  }
}

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*');
}

/** The CLI form of a grant, for listings. */
export function formatGrant(g: Grant): string {
  return `${g.pattern}:${g.verbs.join(',')}${g.once ? ':once' : ''}`;
}

/** True when `pattern` matches the whole of `path` (both dot-separated). */
export function patternMatches(pattern: string, path: string): boolean {
  return matchFrom(pattern.split('.'), 0, path.split('.'), 0, false);
}

/**
 * True when `pattern` matches some path that starts with `prefix` and has at least
 * one more segment: used to decide whether an activation can contain anything a
 * grant covers.
 */
export function patternReachesBelow(pattern: string, prefix: string): boolean {
  const segs = prefix === '' ? [] : prefix.split('.');
  return matchFrom(pattern.split('.'), 0, segs, 0, true);
}

/**
 * Segment matcher with `**` backtracking. With `open`, the path is a prefix: it
 * matches when the pattern has consumed the prefix and can still match at least
 * one more segment.
 */
function matchFrom(p: readonly string[], i: number, s: readonly string[], j: number, open: boolean): boolean {
  for (;;) {
    if (i === p.length) return !open && j === s.length;
    const seg = p[i]!;
    if (seg === '**') {
      // `**` swallows zero or more segments; an open prefix can always continue below.
      if (open) return true;
      for (let k = j; k <= s.length; k++) if (matchFrom(p, i + 1, s, k, open)) return true;
      return false;
    }
    if (j === s.length) return open; // the prefix ended: the rest of the pattern applies below it
    if (seg !== '*' && seg !== s[j]) return false;
    i++;
    j++;
  }
}

/** Is `grant` in force at `now` (not expired, not a spent one-time grant)? */
export function grantLive(grant: Grant, now: number): boolean {
  if (grant.expiresAt !== undefined && now >= grant.expiresAt) return false;
  return !(grant.once && grant.usedAt !== undefined);
}

/**
 * Does `grant` give `verb` on method `path`? `execute` only through a grant whose
 * pattern names the path exactly (no wildcard can stand for it).
 */
export function grantCovers(grant: Grant, path: string, verb: Verb): boolean {
  if (!grant.verbs.includes(verb)) return false;
  if (verb === 'execute') return !hasWildcard(grant.pattern) && grant.pattern === path;
  return patternMatches(grant.pattern, path);
}
