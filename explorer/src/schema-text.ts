import type { JsonSchema } from './wire.js';

type Schema = { readonly [k: string]: unknown };
const obj = (v: unknown): Schema => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Schema) : {});

/** The name a `$ref` points to (`#/$defs/BodyInfo` → `BodyInfo`). */
export function refName(schema: JsonSchema): string | undefined {
  const ref = schema.$ref;
  return typeof ref === 'string' ? decodeURIComponent(ref.replace(/^#\/(\$defs|definitions)\//, '')) : undefined;
}

/** A one-line TypeScript-like type for a schema: `string`, `"a" | "b"`, `BodyInfo[]`, `{ x, y }`. */
export function typeText(raw: JsonSchema | undefined, depth = 0): string {
  const s = obj(raw);
  if (Object.keys(s).length === 0) return 'unknown';
  const ref = refName(s);
  if (ref) return ref;
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) return union.map((b) => typeText(b, depth + 1)).join(' | ');
  if (Array.isArray(s.allOf)) return (s.allOf as JsonSchema[]).map((b) => typeText(b, depth + 1)).join(' & ');
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string | undefined];
  return types
    .map((t) => {
      switch (t) {
        case 'array': {
          if (Array.isArray(s.items)) return `[${(s.items as JsonSchema[]).map((i) => typeText(i, depth + 1)).join(', ')}]`;
          const inner = typeText(obj(s.items), depth + 1);
          return /[|&]/.test(inner) ? `(${inner})[]` : `${inner}[]`;
        }
        case 'object':
        case undefined: {
          if (typeof s.title === 'string' && depth > 0) return s.title;
          const props = Object.keys(obj(s.properties));
          const extra = obj(s.additionalProperties);
          if (props.length === 0)
            return Object.keys(extra).length > 0
              ? `{ [key: string]: ${typeText(extra, depth + 1)} }`
              : t === undefined
                ? 'unknown'
                : 'object';
          return `{ ${props.join(', ')} }`;
        }
        case 'string':
          return typeof s.format === 'string' ? `string (${s.format})` : 'string';
        default:
          return String(t);
      }
    })
    .join(' | ');
}

export interface PropertyRow {
  readonly name: string;
  readonly depth: number;
  readonly required: boolean;
  readonly type: string;
  readonly description?: string;
  readonly default?: unknown;
}

/**
 * An object schema as rows of a properties table, nested objects (inline ones,
 * and items of arrays of them) flattened under their parent with a deeper indent.
 */
export function propertyRows(raw: JsonSchema | undefined, depth = 0): PropertyRow[] {
  const s = obj(raw);
  const props = obj(s.properties);
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const rows: PropertyRow[] = [];
  for (const [name, value] of Object.entries(props)) {
    const p = obj(value);
    rows.push({
      name,
      depth,
      required: required.has(name),
      type: typeText(p, 1),
      ...(typeof p.description === 'string' ? { description: p.description } : {}),
      ...('default' in p ? { default: p.default } : {}),
    });
    const inner = p.type === 'array' ? obj(p.items) : p;
    if (depth < 4 && !refName(inner) && Object.keys(obj(inner.properties)).length > 0) rows.push(...propertyRows(inner, depth + 1));
  }
  return rows;
}
