import type { RenderBudget } from './render-budget.js';
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
 * The columns left of a line, innermost first: `│   ` (bar) or `    `. A linked list,
 * so siblings share their parent's columns and a deep chain costs one cell per level.
 */
interface Columns {
  readonly bar: boolean;
  readonly outer: Columns | undefined;
}

/** One line of the render, without its prefix (which is only known as a size until built). */
interface Line {
  readonly columns: Columns | undefined;
  readonly last: boolean;
  readonly label: string;
}

function prefixOf(columns: Columns | undefined): string {
  const parts: string[] = [];
  for (let c = columns; c; c = c.outer) parts.push(c.bar ? '│   ' : '    ');
  return parts.reverse().join('');
}

/** UTF-8 bytes of the pieces of a line: `└── `/`├── ` and `│   `/`    `. */
const CONNECTOR_BYTES = Buffer.byteLength('└── ');
const BAR_BYTES = Buffer.byteLength('│   ');
const SPACE_BYTES = 4;

/**
 * A render planned but not built: each line's label and shape, and the exact UTF-8
 * size of the text it will make. The indentation grows with depth, so a deep tree
 * renders far larger than it is stored; the size is known before anything is built.
 */
export interface RenderPlan {
  readonly bytes: number;
  build(): string;
}

/** Where a plan reserves its bytes as it counts them; none: no limit. */
export interface RenderReservation {
  readonly budget: RenderBudget;
  /** Bytes this render holds so far (the caller releases them when done, also on a throw). */
  held: number;
}

/**
 * The tree as indented text, depth first from the root, children in order:
 * `└── ` / `├── ` before each label, `    ` / `│   ` below. The root (an empty
 * text node) renders as the first line `└── `.
 */
export async function planRender(tree: Tree, resolvers: HandleResolvers = new Map(), reservation?: RenderReservation): Promise<RenderPlan> {
  // Iterative, so a 10,000-deep conversation does not exhaust the stack.
  const lines: Line[] = [];
  let bytes = 0;
  let refused = false;
  let othersAtRefusal = 0;
  const stack: { id: string; columns: Columns | undefined; columnBytes: number; last: boolean }[] = [
    { id: tree.root, columns: undefined, columnBytes: 0, last: true },
  ];
  while (stack.length > 0) {
    const { id, columns, columnBytes, last } = stack.pop()!;
    const node = tree.nodes[id];
    if (!node) continue;
    const label =
      node.data.type === 'text' ? oneLine(truncate(node.data.content, LABEL_CHARS)) : await externalLabel(node.data.handle, resolvers);
    const lineBytes = columnBytes + CONNECTOR_BYTES + Buffer.byteLength(label) + 1;
    bytes += lineBytes;
    // Past the cap, only count on (to name the whole size in the error); keep nothing.
    if (!refused && reservation && !reservation.budget.tryTake(lineBytes)) {
      // Give back at once what was taken, so a refused render does not block others while it counts.
      refused = true;
      othersAtRefusal = reservation.budget.inUse - reservation.held;
      reservation.budget.release(reservation.held);
      reservation.held = 0;
    }
    if (!refused) {
      if (reservation) reservation.held += lineBytes;
      lines.push({ columns, last, label });
    }
    const below: Columns = { bar: !last, outer: columns };
    const belowBytes = columnBytes + (last ? SPACE_BYTES : BAR_BYTES);
    for (let i = node.children.length - 1; i >= 0; i--)
      stack.push({ id: node.children[i]!, columns: below, columnBytes: belowBytes, last: i === node.children.length - 1 });
  }
  if (refused) throw reservation!.budget.refusal(bytes, othersAtRefusal);
  return {
    bytes,
    build: () => lines.map((l) => `${prefixOf(l.columns)}${l.last ? '└── ' : '├── '}${l.label}\n`).join(''),
  };
}

/** The whole render at once, with no size limit (for trees known to be small). */
export async function renderTree(tree: Tree, resolvers: HandleResolvers = new Map()): Promise<string> {
  return (await planRender(tree, resolvers)).build();
}
