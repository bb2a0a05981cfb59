import Mustache from 'mustache';
import { MustacheError } from './errors.js';

/** What one template and one render may cost. */
export interface RenderLimits {
  /** UTF-8 bytes of a template (default 64 KiB). */
  readonly maxTemplateBytes: number;
  /** Sections (`{{#…}}`, `{{^…}}`) nested inside each other (default 16). */
  readonly maxDepth: number;
  /** UTF-8 bytes of a render's output (default 1 MiB). */
  readonly maxOutputBytes: number;
  /** Wall-clock time of one render; past it the render is stopped (default 2 s). */
  readonly timeoutMs: number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = {
  maxTemplateBytes: 64 * 1024,
  maxDepth: 16,
  maxOutputBytes: 1024 * 1024,
  timeoutMs: 2000,
};

/** A parsed token: `[type, value, start, end, children?, …]` (mustache.js's own form). */
type Token = readonly [string, string, number, number, Token[]?, ...unknown[]];

/** Deepest nesting of sections among `tokens`. */
function sectionDepth(tokens: readonly Token[]): number {
  let deepest = 0;
  const stack: { tokens: readonly Token[]; depth: number }[] = [{ tokens, depth: 0 }];
  while (stack.length > 0) {
    const { tokens: list, depth } = stack.pop()!;
    deepest = Math.max(deepest, depth);
    for (const t of list) if ((t[0] === '#' || t[0] === '^') && t[4]) stack.push({ tokens: t[4], depth: depth + 1 });
  }
  return deepest;
}

/**
 * Throws `mustache.invalid_template` when the template does not parse, and
 * `mustache.limit_exceeded` when it is too large or its sections nest too deep.
 */
export function checkTemplate(template: string, limits: RenderLimits): void {
  const bytes = Buffer.byteLength(template);
  if (bytes > limits.maxTemplateBytes)
    throw MustacheError.limit(`the template is ${bytes} bytes, over the limit of ${limits.maxTemplateBytes}`);
  let tokens: Token[];
  try {
    tokens = Mustache.parse(template) as unknown as Token[];
  } catch (err) {
    throw MustacheError.invalidTemplate((err as Error).message);
  }
  const depth = sectionDepth(tokens);
  if (depth > limits.maxDepth) throw MustacheError.limit(`the template nests sections ${depth} deep, over the limit of ${limits.maxDepth}`);
}
