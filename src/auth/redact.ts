/**
 * What of a call's params reaches the audit log. Secrets are removed two ways:
 *
 * - by key: values under secret-looking keys (`password`, `token`, `api_key`,
 *   `openai_key`, `github_pat`, `authorization`, …) at any depth, and every value of
 *   an `env` / `environment` map (its keys stay: they say what was set);
 * - by value, inside any string: credential shapes (prefixes such as `sk-`, `ghp_`,
 *   `github_pat_`, `AKIA`, `phub_`, `xoxb-`, `glpat-`, `AIza`; `Bearer …`/`Basic …`;
 *   JWTs; PEM private keys; `NAME=value` and `--flag value` where the name looks
 *   secret; and long high-entropy tokens) become `[redacted]` where they stand, so
 *   `curl -H "Authorization: Bearer …"` keeps its shape but not its credential.
 *
 * UUIDs and hashes (hex of any length) stay visible: they are ids, not secrets, and
 * an audit log without them is useless.
 */

/** Keys whose values never reach the audit log, at any depth. */
const SECRET_KEY =
  /pass(word|phrase|wd)?|secret|token|api[-_]?key|auth|credential|private[-_]?key|cookie|session|signature|[a-z0-9][-_]key(\b|_|$)|access[-_]?key|(^|[-_])pat($|[-_])/i;
/** Keys whose every value is redacted: process environments carry credentials under any name. */
const ENV_KEY = /^(env|environment|env_vars|envs)$/i;

export interface RedactOptions {
  /** Longest string kept whole (default 256 characters). */
  readonly maxString?: number;
  /** Most array entries / object keys kept (default 32). */
  readonly maxEntries?: number;
  /** Deepest nesting kept (default 6). */
  readonly maxDepth?: number;
}

export const REDACTED = '[redacted]';

/** Credential shapes found inside strings; each match (or its group `v`) becomes REDACTED. */
const SHAPES: readonly RegExp[] = [
  // PEM private keys, whole.
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  // Authorization schemes: keep the scheme, drop the credential (one with a digit or
  // symbol in it, so "basic functionality" stays prose).
  /\b(?:Bearer|Basic)\s+(?<v>(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,})/gi,
  // JWT (header.payload.signature, base64url of JSON).
  /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
  // Known prefixes: OpenAI/Anthropic, GitHub, AWS key ids, this hub, Slack, GitLab, Google, Stripe.
  /\b(?:sk|rk|pk)-[A-Za-z0-9_-]{16,}/g,
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}/g,
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
  /\bphub_[A-Za-z0-9_-]{16,}/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
  /\bglpat-[A-Za-z0-9_-]{16,}/g,
  /\bAIza[A-Za-z0-9_-]{30,}/g,
  // NAME=value where NAME looks secret (`OPENAI_KEY=… cmd`, `export GITHUB_PAT=…`), and --flag value.
  /\b[A-Za-z_][A-Za-z0-9_]*?(?:KEY|TOKEN|SECRET|PASS|PASSWORD|PASSWD|PAT|CREDENTIALS?|AUTH)[A-Za-z0-9_]*\s*[=:]\s*["']?(?<v>[^\s"'&;|]{4,})/gi,
  /--?(?:password|passwd|pass|token|api-key|apikey|secret|auth)(?:=|\s+)["']?(?<v>[^\s"'&;|]{4,})/gi,
  // URL credentials: scheme://user:password@host.
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:(?<v>[^\s/@]{3,})@/gi,
];

/** Runs of base64/base64url characters long enough to be a generated secret. */
const TOKEN_RUN = /[A-Za-z0-9+/_-]{32,}={0,2}/g;
const HEX_OR_UUID = /^[0-9a-fA-F-]+$/;

/** Shannon entropy of `s` in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * A generated secret, not a word, path or id: upper, lower and digits mixed, spread
 * over many distinct characters, and not mostly words (`parseHttpHeaderValue2` is
 * 88% `[A-Z]?[a-z]{2,}`; a random base64url string of 32 is over 70% in 0.3% of
 * cases). Hex (hashes) and UUIDs are ids and stay.
 */
function looksRandom(run: string): boolean {
  const core = run.replace(/=+$/, '');
  if (HEX_OR_UUID.test(core)) return false;
  if (!/[A-Z]/.test(core) || !/[a-z]/.test(core) || !/[0-9]/.test(core)) return false;
  // Paths and slugs: mostly separators between words.
  if ((core.match(/[/_-]/g)?.length ?? 0) > core.length / 6) return false;
  const words = (core.match(/[A-Z]?[a-z]{2,}/g) ?? []).join('').length;
  return words < core.length * 0.7 && entropy(core) >= 3.5;
}

/** A quick look for anything SHAPES or TOKEN_RUN could match: most strings have none. */
const MAYBE_SECRET =
  /BEGIN|bearer|basic|token|eyJ|sk-|rk-|pk-|_live_|_test_|gh[pousr]_|github_pat_|A[KSBC][IC]A|phub_|xox|glpat-|AIza|key|secret|pass|pat|credential|auth|:\/\/[^\s/]*@|[A-Za-z0-9+/_=-]{32}/i;

/** `text` with every credential shape in it replaced by REDACTED. */
export function redactString(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  let out = text;
  for (const shape of SHAPES) {
    out = out.replace(shape, (...args: unknown[]) => {
      const match = args[0] as string;
      const groups = args.at(-1);
      const v = typeof groups === 'object' && groups !== null ? (groups as { v?: string }).v : undefined;
      if (v === undefined) return REDACTED;
      // Only the credential goes; what names it (`Bearer `, `OPENAI_KEY=`, `--token `) stays.
      const at = match.lastIndexOf(v);
      return match.slice(0, at) + REDACTED + match.slice(at + v.length);
    });
  }
  return out.replace(TOKEN_RUN, (run) => (looksRandom(run) ? REDACTED : run));
}

/** A plain object of short, secret-free scalars, keys sorted, none secret-looking or integer-like: already its own redacted form. */
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
      if (v.length > maxString || MAYBE_SECRET.test(v)) return false;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
    } else if (typeof v !== 'boolean' && v !== null) return false;
  }
  return true;
}

/**
 * A JSON-safe copy of `value` for the audit log: secrets redacted by key and by
 * value (above), long strings truncated, big arrays and objects cut, deep nesting
 * elided. Object keys come out sorted, which the log's canonical form wants anyway.
 */
export function redact(value: unknown, options: RedactOptions = {}): unknown {
  const maxString = options.maxString ?? 256;
  const maxEntries = options.maxEntries ?? 32;
  const maxDepth = options.maxDepth ?? 6;
  // Most params are a few short scalars under harmless, already sorted keys: nothing to copy.
  if (isFlatAndClean(value, maxString, maxEntries)) return value;
  const text = (s: string): string => {
    // Scrubbed a little past the cut, so a secret straddling it is not half kept.
    const scrubbed = redactString(s.length > maxString ? s.slice(0, maxString + 256) : s);
    return s.length > maxString ? `${scrubbed.slice(0, maxString)}…(+${s.length - maxString} chars)` : scrubbed;
  };
  const walk = (v: unknown, depth: number, secretValues: boolean): unknown => {
    if (typeof v === 'string') return secretValues ? REDACTED : text(v);
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v !== 'object') return v === undefined ? null : `[${typeof v}]`;
    if (depth >= maxDepth) return '[nested too deep]';
    if (Array.isArray(v)) {
      const out = v.slice(0, maxEntries).map((x) => walk(x, depth + 1, secretValues));
      if (v.length > maxEntries) out.push(`…(+${v.length - maxEntries} entries)`);
      return out;
    }
    const keys = Object.keys(v).sort();
    // No prototype: a "__proto__" key in params is data, not a prototype swap.
    const out: Record<string, unknown> = Object.create(null);
    for (const k of keys.slice(0, maxEntries)) {
      const child = (v as Record<string, unknown>)[k];
      if (SECRET_KEY.test(k) || (secretValues && (typeof child !== 'object' || child === null))) out[k] = REDACTED;
      else out[k] = walk(child, depth + 1, secretValues || ENV_KEY.test(k));
    }
    if (keys.length > maxEntries) out['…'] = `+${keys.length - maxEntries} keys`;
    return out;
  };
  return walk(value, 0, false);
}
