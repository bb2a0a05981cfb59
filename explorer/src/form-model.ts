import type { JsonSchema } from './wire.js';

/**
 * What input a (params) schema gets in the call form. Anything the form cannot
 * express faithfully (unions, tuples, maps, recursion too deep) is a JSON editor.
 */
export type Field =
  | { readonly kind: 'string'; readonly format?: string }
  | { readonly kind: 'number'; readonly integer: boolean; readonly minimum?: number; readonly maximum?: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly options: readonly unknown[] }
  | { readonly kind: 'array'; readonly item: FieldSpec }
  | { readonly kind: 'object'; readonly props: readonly PropSpec[] }
  | { readonly kind: 'json' };

export interface FieldSpec {
  readonly field: Field;
  readonly title?: string;
  readonly description?: string;
  readonly default?: unknown;
  /** `null` is allowed too (`type: [..., "null"]`, or an `anyOf` with null). */
  readonly nullable?: boolean;
}

export interface PropSpec {
  readonly name: string;
  readonly required: boolean;
  readonly spec: FieldSpec;
}

const MAX_DEPTH = 6;

type Schema = { readonly [k: string]: unknown };

function asSchema(v: unknown): Schema {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Schema) : {};
}

/** Follows `#/$defs/Name` (or `#/definitions/Name`) within the root schema. */
function deref(schema: Schema, root: Schema): Schema | undefined {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  const target = asSchema(root[m[1]!])[decodeURIComponent(m[2]!)];
  if (!target) return undefined;
  const { $ref: _ref, ...rest } = schema;
  return { ...asSchema(target), ...rest };
}

const isNull = (s: Schema): boolean => s.type === 'null' || (s.const === null && Object.keys(s).length === 1);

/** The field for one schema; `root` carries the `$defs` that `$ref`s point into. */
export function fieldSpec(raw: JsonSchema | undefined, root: JsonSchema = raw ?? {}, depth = 0): FieldSpec {
  const base = (s: Schema) => ({
    ...(typeof s.title === 'string' ? { title: s.title } : {}),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    ...('default' in s ? { default: s.default } : {}),
  });
  const resolved = deref(asSchema(raw), asSchema(root));
  if (!resolved || depth > MAX_DEPTH) return { field: { kind: 'json' }, ...base(asSchema(raw)) };
  const s = resolved;
  const meta = base(s);

  if (Array.isArray(s.enum)) return { field: { kind: 'enum', options: s.enum }, ...meta };
  if ('const' in s) return { field: { kind: 'enum', options: [s.const] }, ...meta };

  const union = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(union)) {
    const branches = union.map((b) => deref(asSchema(b), asSchema(root)) ?? {});
    const nonNull = branches.filter((b) => !isNull(b));
    const nullable = nonNull.length < branches.length;
    // A union of literals is an enum; `T | null` is T, nullable.
    if (nonNull.every((b) => 'const' in b || Array.isArray(b.enum))) {
      const options = nonNull.flatMap((b) => ('const' in b ? [b.const] : (b.enum as unknown[])));
      return { field: { kind: 'enum', options: nullable ? [...options, null] : options }, ...meta };
    }
    if (nonNull.length === 1) {
      const inner = fieldSpec(nonNull[0], root, depth + 1);
      return { ...inner, ...meta, nullable };
    }
    return { field: { kind: 'json' }, ...meta };
  }

  let type = s.type;
  let nullable = false;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null');
    nullable = nonNull.length < type.length;
    type = nonNull.length === 1 ? nonNull[0] : undefined;
  }
  const spec = (field: Field): FieldSpec => ({ field, ...meta, ...(nullable ? { nullable } : {}) });
  switch (type) {
    case 'string':
      return spec({ kind: 'string', ...(typeof s.format === 'string' ? { format: s.format } : {}) });
    case 'number':
    case 'integer':
      return spec({
        kind: 'number',
        integer: type === 'integer',
        ...(typeof s.minimum === 'number' ? { minimum: s.minimum } : {}),
        ...(typeof s.maximum === 'number' ? { maximum: s.maximum } : {}),
      });
    case 'boolean':
      return spec({ kind: 'boolean' });
    case 'array': {
      // Tuples (`items: [...]` or `prefixItems`) keep their exact shape in JSON.
      if (Array.isArray(s.items) || s.prefixItems !== undefined || !s.items) return spec({ kind: 'json' });
      return spec({ kind: 'array', item: fieldSpec(s.items as JsonSchema, root, depth + 1) });
    }
    case 'object':
    case undefined: {
      const props = asSchema(s.properties);
      const names = Object.keys(props);
      // A map (index signature) or an open object has no fixed fields to draw.
      if (names.length === 0 || (s.additionalProperties !== undefined && s.additionalProperties !== false)) {
        return spec({ kind: 'json' });
      }
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      return spec({
        kind: 'object',
        props: names.map((name) => ({ name, required: required.has(name), spec: fieldSpec(props[name] as JsonSchema, root, depth + 1) })),
      });
    }
    default:
      return spec({ kind: 'json' });
  }
}

/**
 * The value a field starts with: its default when it has one; otherwise an empty
 * value for required fields (so the form shows them) and `undefined` (omitted)
 * for optional ones.
 */
export function initialValue(spec: FieldSpec, required: boolean): unknown {
  if (spec.default !== undefined) return structuredClone(spec.default);
  if (!required) return undefined;
  const f = spec.field;
  switch (f.kind) {
    case 'string':
      return '';
    case 'boolean':
      return false;
    case 'enum':
      return f.options[0];
    case 'array':
      return [];
    case 'object':
      return objectValue(f.props);
    default:
      return undefined;
  }
}

function objectValue(props: readonly PropSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of props) {
    const v = initialValue(p.spec, p.required);
    if (v !== undefined) out[p.name] = v;
  }
  return out;
}

/** The form's starting params for a method's params schema (`{}` when it takes none). */
export function initialParams(params: JsonSchema | undefined): Record<string, unknown> {
  if (!params) return {};
  const spec = fieldSpec(params);
  if (spec.field.kind !== 'object') return {};
  return objectValue(spec.field.props);
}

/** Drops `undefined` entries at any depth: they mean "not given". */
export function pruneUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruneUndefined);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = pruneUndefined(v);
    return out;
  }
  return value;
}

/** A label for an enum option in a `<select>`. */
export function optionLabel(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Params in the order the schema declares them (the order the form shows), unknown keys last. */
export function inSchemaOrder(params: Record<string, unknown>, schema: JsonSchema | undefined): Record<string, unknown> {
  const order = Object.keys(asSchema(asSchema(schema).properties));
  const out: Record<string, unknown> = {};
  for (const k of order) if (k in params) out[k] = params[k];
  for (const [k, v] of Object.entries(params)) if (!(k in out)) out[k] = v;
  return out;
}
