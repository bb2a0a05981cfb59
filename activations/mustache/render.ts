import Mustache from 'mustache';
import { MustacheError } from './errors.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * The Rust `mustache` crate's escaping for `{{x}}`: exactly these five characters.
 * (mustache.js alone would also escape `/`, `` ` `` and `=`.)
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Throws `mustache.invalid_template` when the template does not parse. */
export function checkTemplate(template: string): void {
  try {
    Mustache.parse(template);
  } catch (err) {
    throw MustacheError.invalidTemplate((err as Error).message);
  }
}

/** Renders `value` with the reference's escaping; missing keys render empty, no partials. */
export function renderTemplate(template: string, value: unknown): string {
  try {
    return Mustache.render(template, value, {}, { escape: escapeHtml });
  } catch (err) {
    throw MustacheError.render((err as Error).message);
  }
}
