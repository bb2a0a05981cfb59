import { SEGMENT_PATTERN, type Activation, type MethodInfo } from '../activation/types.js';
import { isVerb, type Verb } from '../activation/verbs.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import { TREE_FETCH_CONCURRENCY, type TreeBudget } from './mount-limits.js';

/**
 * One activation of a mounted hub's tree, as the remote described it: its methods
 * (with the remote's hashes), its children and its own hashes. It only describes:
 * calls never reach it, the mount forwards them. Used for schemas, hashes, the MCP
 * tool list and codegen; never for access decisions.
 */
export class RemoteNode implements Activation {
  readonly namespace: string;
  readonly version: string;
  readonly description: string;
  readonly longDescription?: string;
  readonly #methods: readonly MethodInfo[];
  readonly #hashes: { self_hash: string; children_hash?: string; hash: string };
  readonly #children: readonly RemoteNode[];
  /** Activations in this subtree, itself included (charged again when the subtree is reused). */
  readonly size: number;
  /** Levels below this node (0 for a leaf). */
  readonly height: number;

  constructor(
    namespace: string,
    readonly schema: PluginSchema,
    children: readonly RemoteNode[],
  ) {
    this.namespace = namespace;
    this.#children = children;
    this.size = 1 + children.reduce((n, c) => n + c.size, 0);
    this.height = children.reduce((h, c) => Math.max(h, c.height + 1), 0);
    this.version = String(schema.version ?? '');
    this.description = String(schema.description ?? '');
    if (schema.long_description) this.longDescription = String(schema.long_description);
    this.#methods = (schema.methods ?? []).filter((m) => m.name !== 'schema' && SEGMENT_PATTERN.test(m.name)).map(methodInfo);
    this.#hashes = {
      self_hash: schema.self_hash,
      ...(schema.children_hash !== undefined ? { children_hash: schema.children_hash } : {}),
      hash: schema.hash,
    };
  }

  methods(): readonly MethodInfo[] {
    return this.#methods;
  }

  children(): readonly Activation[] {
    return this.#children;
  }

  remoteChildren(): readonly RemoteNode[] {
    return this.#children;
  }

  contentHashes(): { self_hash: string; children_hash?: string; hash: string } {
    return this.#hashes;
  }

  invoke(): never {
    throw new Error('a remote node is described, not called: calls go through its mount');
  }
}

/**
 * The verbs of a remote method a remote does not declare (the reference server, an
 * older hub) or declares in a way we do not understand: `execute`, so only a grant
 * naming the method's path exactly lets a caller through, never a wildcard. A remote
 * method nobody vouched for may run anything.
 */
export const UNDECLARED_VERBS: readonly Verb[] = ['execute'];

/** The verbs the remote declares for a method, or `UNDECLARED_VERBS`. */
export function remoteVerbs(declared: unknown): readonly Verb[] {
  if (!Array.isArray(declared) || declared.length === 0 || !declared.every(isVerb)) return UNDECLARED_VERBS;
  return [...new Set(declared)];
}

function methodInfo(m: MethodSchema): MethodInfo {
  return {
    name: m.name,
    description: m.description ?? '',
    ...(m.params ? { params: m.params } : {}),
    returns: m.returns ?? {},
    streaming: Boolean(m.streaming),
    // Kept: a mounted node's schema is answered from this description when grants filter it.
    ...(m.bidirectional ? { bidirectional: true } : {}),
    hash: m.hash,
    // The local grants are checked against them: a wildcard must not reach a remote `execute`.
    verbs: remoteVerbs(m.verbs),
  };
}

/** Fetches a schema by remote path: `''` for the root, `stock` or `stock.shelf` below. */
export type SchemaFetch = (path: string) => Promise<PluginSchema>;

/** Runs at most `limit` of the functions handed to it at once, in order. */
function limiter(limit: number): <T>(run: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (run) => {
    if (running >= limit) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await run();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * Loads a remote tree, level by level, reusing every subtree whose hash is the one
 * it had last time (`previous`): after a change only the changed path is fetched.
 * Everything is charged to `budget` (depth, activations, schema bytes) before it is
 * fetched or kept, and at most a few schemas are asked for at once, so a remote
 * that lists 50,000 children or an endless chain is refused at the first level past
 * a limit, having cost that one schema.
 */
export async function loadRemoteTree(
  fetch: SchemaFetch,
  mountName: string,
  budget: TreeBudget,
  previous?: RemoteNode,
): Promise<RemoteNode> {
  const known = new Map<string, RemoteNode>();
  const remember = (n: RemoteNode, path: string): void => {
    known.set(`${path}#${n.schema.hash}`, n);
    for (const c of n.remoteChildren()) remember(c, path ? `${path}.${c.namespace}` : c.namespace);
  };
  if (previous) remember(previous, '');
  const gate = limiter(TREE_FETCH_CONCURRENCY);
  // After the first refusal the other branches stop fetching: one error is enough.
  let failed = false;
  const load = async (path: string, namespace: string, depth: number, hash?: string): Promise<RemoteNode> => {
    const cached = hash !== undefined ? known.get(`${path}#${hash}`) : undefined;
    if (cached) {
      // Listed (and counted) already; what is below it counts again, in this tree.
      budget.nodes(cached.size - 1, depth + cached.height);
      return cached;
    }
    const schema = await gate(() => (failed ? Promise.reject(new Error('tree read abandoned')) : fetch(path)));
    if (typeof schema !== 'object' || schema === null || typeof schema.hash !== 'string') {
      throw new Error(`the remote's schema of '${path || '<root>'}' is not an activation schema`);
    }
    // A remote's odd child names cannot become local path segments; they are left out.
    const children = (Array.isArray(schema.children) ? schema.children : []).filter(
      (c) => typeof c === 'object' && c !== null && typeof c.namespace === 'string' && SEGMENT_PATTERN.test(c.namespace),
    );
    if (children.length > 0) budget.nodes(children.length, depth + 1);
    const nodes = await Promise.all(
      children.map((c) => load(path ? `${path}.${c.namespace}` : c.namespace, c.namespace, depth + 1, c.hash)),
    );
    return new RemoteNode(namespace, schema, nodes);
  };
  budget.nodes(1, 0);
  try {
    return await load('', mountName, 0, undefined);
  } catch (err) {
    failed = true;
    throw err;
  }
}
