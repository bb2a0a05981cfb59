import type { JsonSchema } from '../activation/types.js';

/**
 * The one canonical schema form that hashing, validation, MCP and codegen share:
 * - no `$schema` (the dialect is draft-07 semantics with `$defs` for named types);
 * - named types live in `$defs` at the root, referenced as `#/$defs/Name`, each
 *   schema self-contained and carrying only the definitions it reaches;
 * - a root that is a named type is inlined with `title: Name`, so generators keep the name;
 * - `$defs` sorted by name; other key order is irrelevant (hashes use RFC 8785).
 */
export function canonicalSchema(raw: JsonSchema): JsonSchema {
  const defs = { ...((raw.definitions ?? raw.$defs ?? {}) as Record<string, JsonSchema>) };
  let root = stripRoot(raw);
  const rootRef = refName(root);
  if (rootRef !== undefined && defs[rootRef] && Object.keys(root).length === 1) {
    root = { title: rootRef, ...defs[rootRef] };
  }
  root = rewriteRefs(root) as JsonSchema;
  const reachable = reachableDefs(root, defs);
  if (reachable.length === 0) return root;
  const $defs: Record<string, unknown> = {};
  for (const name of reachable.sort()) $defs[name] = rewriteRefs(defs[name]!);
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

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') {
      const name = refName(node);
      out[k] = name === undefined ? v : `#/$defs/${encodeURIComponent(name)}`;
    } else {
      out[k] = rewriteRefs(v);
    }
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
