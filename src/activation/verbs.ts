/**
 * What a method needs from its caller. `read` observes, `write` changes state,
 * `execute` runs programs (shells, spawned processes) and is never granted by a
 * wildcard.
 */
export type Verb = 'read' | 'write' | 'execute';

export const VERBS: readonly Verb[] = ['read', 'write', 'execute'];

/** What a method declares when it says nothing. */
export const DEFAULT_VERBS: readonly Verb[] = ['read'];

export function isVerb(value: unknown): value is Verb {
  return value === 'read' || value === 'write' || value === 'execute';
}

/** Checks a `verbs` list (from `@method()` or a dynamic spec): known verbs, at least one. */
export function checkVerbs(owner: string, verbs: readonly unknown[]): readonly Verb[] {
  if (verbs.length === 0) throw new TypeError(`${owner}: verbs must name at least one of ${VERBS.join(', ')}`);
  for (const v of verbs) {
    if (!isVerb(v)) throw new TypeError(`${owner}: unknown verb "${String(v)}"; verbs are ${VERBS.join(', ')}`);
  }
  return [...new Set(verbs as Verb[])];
}
