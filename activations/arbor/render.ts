import { handleDisplay, type Handle, type Tree } from './types.js';

/**
 * Resolves a handle to its value, for `tree_render`: the owning activation's view
 * of it (e.g. cone returns `{ role, name, content }` for a message). Return
 * `undefined` when there is nothing to show; throw to show an error.
 */
export type HandleResolver = (handle: Handle) => unknown;

/** Resolvers by the owning activation's `plugin_id`. */
export type HandleResolvers = ReadonlyMap<string, HandleResolver>;

const LABEL_CHARS = 60;
const JSON_CHARS = 50;

/** Cuts to `max` characters (not bytes: the reference's byte slicing panics inside a multi-byte character). */
function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 3).join('')}...` : text;
}

const oneLine = (text: string) => text.replace(/\n/g, '↵');

async function externalLabel(handle: Handle, resolvers: HandleResolvers): Promise<string> {
  if (resolvers.size === 0) return `[${handleDisplay(handle)}]`;
  const resolve = resolvers.get(handle.plugin_id);
  if (!resolve) return `[unresolved: ${handle.method} - Activation not found: ${handle.plugin_id}]`;
  let value: unknown;
  try {
    value = await resolve(handle);
  } catch (err) {
    return `[error: ${(err as Error).message ?? String(err)}]`;
  }
  if (value === undefined) return `[empty: ${handleDisplay(handle)}]`;
  const v = value as Record<string, unknown> | null;
  if (v && typeof v === 'object' && typeof v.content === 'string') {
    const role = typeof v.role === 'string' ? v.role : 'unknown';
    const who = typeof v.name === 'string' ? `[${role}:${v.name}]` : `[${role}]`;
    return `${who} ${oneLine(truncate(v.content, LABEL_CHARS))}`;
  }
  if (v && typeof v === 'object' && typeof v.type === 'string') return `[${v.type}]`;
  return truncate(JSON.stringify(value), JSON_CHARS);
}

/**
 * The tree as indented text, depth first from the root, children in order:
 * `└── ` / `├── ` before each label, `    ` / `│   ` below. The root (an empty
 * text node) renders as the first line `└── `.
 */
export async function renderTree(tree: Tree, resolvers: HandleResolvers = new Map()): Promise<string> {
  // Iterative, so a 10,000-deep conversation does not exhaust the stack.
  const lines: string[] = [];
  const stack: { id: string; prefix: string; last: boolean }[] = [{ id: tree.root, prefix: '', last: true }];
  while (stack.length > 0) {
    const { id, prefix, last } = stack.pop()!;
    const node = tree.nodes[id];
    if (!node) continue;
    const label =
      node.data.type === 'text' ? oneLine(truncate(node.data.content, LABEL_CHARS)) : await externalLabel(node.data.handle, resolvers);
    lines.push(`${prefix}${last ? '└── ' : '├── '}${label}\n`);
    const below = prefix + (last ? '    ' : '│   ');
    for (let i = node.children.length - 1; i >= 0; i--)
      stack.push({ id: node.children[i]!, prefix: below, last: i === node.children.length - 1 });
  }
  return lines.join('');
}
