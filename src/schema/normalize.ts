import type { JsonSchema } from '../wire/schema-types.js';

/**
 * The one canonical schema form that hashing, validation, MCP and codegen share:
 * - no `$schema` (the dialect is draft-07 semantics with `$defs` for named types);
 * - named types live in `$defs` at the root, referenced as `#/$defs/Name`, each
 *   schema self-contained and carrying only the definitions it reaches; names are
 *   identifiers (`Record<string,unknown>` becomes `Record_string_unknown`);
 * - a root that is a named type is inlined with `title: Name`, so generators keep the name;
 * - object types with declared properties are closed (`additionalProperties: false`)
 *   unless the type says otherwise (index signatures, `object`), as TypeScript's
 *   excess-property checks would have it;
 * - `$defs` sorted by name; other key order is irrelevant (hashes use RFC 8785).
 */
export function canonicalSchema(raw: JsonSchema): JsonSchema {
  const rawDefs = (raw.definitions ?? raw.$defs ?? {}) as Record<string, JsonSchema>;
  const names = identifierNames(Object.keys(rawDefs));
  let root = stripRoot(raw);
  const rootRef = refName(root);
  if (rootRef !== undefined && rawDefs[rootRef] && Object.keys(root).length === 1) {
    root = { title: names.get(rootRef)!, ...rawDefs[rootRef] };
  }
  const defs: Record<string, JsonSchema> = {};
  for (const [name, def] of Object.entries(rawDefs)) defs[names.get(name)!] = normalizeNode(def, names) as JsonSchema;
  root = normalizeNode(root, names) as JsonSchema;
  const reachable = reachableDefs(root, defs);
  if (reachable.length === 0) return root;
  const $defs: Record<string, unknown> = {};
  for (const name of reachable.sort()) $defs[name] = defs[name];
  return { ...root, $defs };
}

function stripRoot(raw: JsonSchema): JsonSchema {
  const { $schema: _s, definitions: _d, $defs: _dd, ...rest } = raw;
  return rest;
}

function refName(schema: unknown): string | undefined {
  const ref = (schema as { $ref?: unknown } | null)?.$ref;
  if (typeof ref !== 'string') return undefined;
  const m = /^#\/(?:definitions|\$defs)\/(.+)$/.exec(ref);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

/** Maps raw definition names to unique identifier-safe ones. */
function identifierNames(raw: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const name of [...raw].sort()) {
    const base = name.replace(/[^A-Za-z0-9_$]+/g, '_').replace(/^_+|_+$/g, '') || 'Type';
    let candidate = base;
    for (let i = 2; used.has(candidate); i++) candidate = `${base}_${i}`;
    used.add(candidate);
    out.set(name, candidate);
  }
  return out;
}

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependencies']);
const SCHEMA_LISTS = new Set(['anyOf', 'allOf', 'oneOf', 'items', 'prefixItems']);
const SCHEMA_ONE = new Set(['additionalProperties', 'additionalItems', 'items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames']);

/** Rewrites refs and closes object types, walking only schema positions (a property named `properties` is data). */
function normalizeNode(node: unknown, names: ReadonlyMap<string, string>): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') {
      const name = refName(node);
      out[k] = name === undefined ? v : `#/$defs/${names.get(name) ?? name}`;
    } else if (SCHEMA_MAPS.has(k) && typeof v === 'object' && v !== null) {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, normalizeNode(s, names)]));
    } else if (SCHEMA_LISTS.has(k) && Array.isArray(v)) {
      out[k] = v.map((s) => normalizeNode(s, names));
    } else if (SCHEMA_ONE.has(k)) {
      out[k] = normalizeNode(v, names);
    } else {
      out[k] = v;
    }
  }
  if (out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

function reachableDefs(root: unknown, defs: Record<string, JsonSchema>): string[] {
  const seen = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const name = refName(node);
    if (name !== undefined && !seen.has(name) && defs[name]) {
      seen.add(name);
      visit(defs[name]);
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(root);
  return [...seen];
}
