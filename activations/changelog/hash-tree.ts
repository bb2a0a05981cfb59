import type { PluginSchema } from '../../src/index.js';

/** What a snapshot needs from a hub: its schemas by path. */
export interface SchemaReader {
  schema(path?: string): Promise<PluginSchema | unknown>;
}

/** Every activation and method path of a hub with its hash (`echo` → …, `echo.echo` → …). The root's own methods are `<root>.<name>`. */
export async function hashSnapshot(hub: SchemaReader, rootName: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (path: string | undefined): Promise<void> => {
    const schema = (await hub.schema(path)) as PluginSchema;
    const prefix = path ?? rootName;
    if (path !== undefined) out.set(path, schema.hash);
    for (const m of schema.methods) if (m.name !== 'schema') out.set(`${prefix}.${m.name}`, m.hash);
    for (const child of schema.children ?? []) await visit(path === undefined ? child.namespace : `${path}.${child.namespace}`);
  };
  await visit(undefined);
  return out;
}

/**
 * Paths whose hash differs between two snapshots, sorted; below an activation that
 * was added or removed as a whole, only that activation is listed.
 */
export function changedPaths(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const changed = new Set<string>();
  const wholesale = new Set<string>();
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(path) === after.get(path)) continue;
    changed.add(path);
    if (!before.has(path) || !after.has(path)) wholesale.add(path);
  }
  const underWholesale = (path: string) => {
    for (let i = path.lastIndexOf('.'); i > 0; i = path.lastIndexOf('.', i - 1)) if (wholesale.has(path.slice(0, i))) return true;
    return false;
  };
  return [...changed].filter((p) => !underWholesale(p)).sort();
}
