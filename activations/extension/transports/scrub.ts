import { isRecord } from './errors.js';

export const SCRUBBED = '[secret]';

/**
 * Removes the values of the secrets a call attached from anything that leaves the
 * transport: items, error messages and details. A service may echo what it got
 * (an error body quoting the bearer), so every form it could echo is removed: the
 * value itself, JSON-escaped, URL-encoded, and base64/base64url (as in Basic auth).
 */
export class Scrubber {
  readonly #forms: string[];

  constructor(secrets: readonly string[]) {
    const forms = new Set<string>();
    for (const value of secrets) {
      if (!value) continue;
      const buf = Buffer.from(value, 'utf8');
      for (const form of [
        value,
        JSON.stringify(value).slice(1, -1),
        encodeURIComponent(value),
        buf.toString('base64'),
        buf.toString('base64url'),
      ])
        forms.add(form);
    }
    // Longest first, so a form containing another is removed whole.
    this.#forms = [...forms].filter(Boolean).sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.#forms.length > 0;
  }

  text(text: string): string {
    let out = text;
    for (const form of this.#forms) if (out.includes(form)) out = out.split(form).join(SCRUBBED);
    return out;
  }

  /** A JSON value with every string (and object key) scrubbed. */
  value<T>(value: T): T {
    if (!this.active) return value;
    if (typeof value === 'string') return this.text(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.value(v)) as T;
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.text(k), this.value(v)])) as T;
    return value;
  }
}
