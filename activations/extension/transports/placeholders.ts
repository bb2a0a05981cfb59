import { PlexusError } from '../../../src/index.js';
import { ExtensionErrorCode } from '../types.js';

/**
 * `{name}` placeholders in route templates (cli argv, local-rest path and body). A
 * name is an identifier; any other brace text (`{"a":1}`, `{}`) is literal, so JSON
 * in a template needs no escaping.
 */
const ONE = String.raw`\{([A-Za-z_][A-Za-z0-9_]*)\}`;
const PLACEHOLDER = new RegExp(ONE, 'g');
const WHOLE = new RegExp(`^${ONE}$`);
const LEADING = new RegExp(`^${ONE}`);

/** The placeholder names a template uses, in order (repeats kept). */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** The whole template is one placeholder (`"{note}"`): its value keeps its JSON type in a body. */
export function wholePlaceholder(template: string): string | undefined {
  return WHOLE.exec(template)?.[1];
}

/** The template begins with a placeholder (`"{path}"`, `"{p}.txt"`): its value decides the first character. */
export function leadingPlaceholder(template: string): string | undefined {
  return LEADING.exec(template)?.[1];
}

/** Absent (undefined or null) params leave their template element out. */
export const isAbsent = (value: unknown) => value === undefined || value === null;

/**
 * A scalar param as text. Objects and arrays are refused: a cli argument or a URL
 * segment has no single obvious text for them, and guessing one hides mistakes.
 */
export function scalarText(name: string, value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new PlexusError(
    ExtensionErrorCode.SchemaValidationFailed,
    `param '${name}' is ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`}: ${where} takes a string, number or boolean`,
    false,
    { param: name },
  );
}

/**
 * Fills every placeholder of `template` with `encode(text of the param)`; undefined
 * when a placeholder's param is absent (the caller leaves the element out or refuses).
 */
export function fillTemplate(
  template: string,
  params: Record<string, unknown>,
  where: string,
  encode: (text: string, name: string) => string = (text) => text,
): string | undefined {
  let missing = false;
  const filled = template.replace(PLACEHOLDER, (_, name: string) => {
    const value = params[name];
    if (isAbsent(value)) {
      missing = true;
      return '';
    }
    return encode(scalarText(name, value, where), name);
  });
  return missing ? undefined : filled;
}
