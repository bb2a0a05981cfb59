/** Keys whose values never reach the audit log, at any depth. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|auth|credential|private[-_]?key|cookie|session|signature/i;

export interface RedactOptions {
  /** Longest string kept whole (default 256 characters). */
  readonly maxString?: number;
  /** Most array entries / object keys kept (default 32). */
  readonly maxEntries?: number;
  /** Deepest nesting kept (default 6). */
  readonly maxDepth?: number;
}

export const REDACTED = '[redacted]';

/** A plain object of short scalars, keys sorted, none secret-looking or integer-like: already its own redacted form. */
function isFlatAndClean(value: unknown, maxString: number, maxEntries: number): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let previous = '';
  let n = 0;
  for (const k in value) {
    if (++n > maxEntries || k < previous || SECRET_KEY.test(k) || (k >= '0' && k <= '9~')) return false;
    previous = k;
    const v = (value as Record<string, unknown>)[k];
    if (typeof v === 'string') {
      if (v.length > maxString) return false;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
    } else if (typeof v !== 'boolean' && v !== null) return false;
  }
  return true;
}

/**
 * A JSON-safe copy of `value` for the audit log: values under secret-looking keys
 * replaced, long strings truncated, big arrays and objects cut, deep nesting
 * elided. Object keys come out sorted, which the log's canonical form wants anyway.
 */
export function redact(value: unknown, options: RedactOptions = {}): unknown {
  const maxString = options.maxString ?? 256;
  const maxEntries = options.maxEntries ?? 32;
  const maxDepth = options.maxDepth ?? 6;
  // Most params are a few short scalars under harmless, already sorted keys: nothing to copy.
  if (isFlatAndClean(value, maxString, maxEntries)) return value;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return v.length > maxString ? `${v.slice(0, maxString)}…(+${v.length - maxString} chars)` : v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v !== 'object') return v === undefined ? null : `[${typeof v}]`;
    if (depth >= maxDepth) return '[nested too deep]';
    if (Array.isArray(v)) {
      const out = v.slice(0, maxEntries).map((x) => walk(x, depth + 1));
      if (v.length > maxEntries) out.push(`…(+${v.length - maxEntries} entries)`);
      return out;
    }
    const keys = Object.keys(v).sort();
    // No prototype: a "__proto__" key in params is data, not a prototype swap.
    const out: Record<string, unknown> = Object.create(null);
    for (const k of keys.slice(0, maxEntries)) {
      out[k] = SECRET_KEY.test(k) ? REDACTED : walk((v as Record<string, unknown>)[k], depth + 1);
    }
    if (keys.length > maxEntries) out['…'] = `+${keys.length - maxEntries} keys`;
    return out;
  };
  return walk(value, 0);
}
