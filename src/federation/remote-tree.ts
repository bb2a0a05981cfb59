import { SEGMENT_PATTERN, type Activation, type MethodInfo } from '../activation/types.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';

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

  constructor(
    namespace: string,
    readonly schema: PluginSchema,
    children: readonly RemoteNode[],
  ) {
    this.namespace = namespace;
    this.#children = children;
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
  };
}

/** Fetches a schema by remote path: `''` for the root, `stock` or `stock.shelf` below. */
export type SchemaFetch = (path: string) => Promise<PluginSchema>;

/**
 * Loads a remote tree, level by level, reusing every subtree whose hash is the one
 * it had last time (`previous`): after a change only the changed path is fetched.
 */
export async function loadRemoteTree(fetch: SchemaFetch, mountName: string, previous?: RemoteNode): Promise<RemoteNode> {
  const known = new Map<string, RemoteNode>();
  const remember = (n: RemoteNode, path: string): void => {
    known.set(`${path}#${n.schema.hash}`, n);
    for (const c of n.remoteChildren()) remember(c, path ? `${path}.${c.namespace}` : c.namespace);
  };
  if (previous) remember(previous, '');
  const load = async (path: string, namespace: string, hash?: string): Promise<RemoteNode> => {
    const cached = hash !== undefined ? known.get(`${path}#${hash}`) : undefined;
    if (cached) return cached;
    const schema = await fetch(path);
    if (typeof schema !== 'object' || schema === null || typeof schema.hash !== 'string') {
      throw new Error(`the remote's schema of '${path || '<root>'}' is not an activation schema`);
    }
    // A remote's odd child names cannot become local path segments; they are left out.
    const children = (schema.children ?? []).filter((c) => SEGMENT_PATTERN.test(c.namespace));
    const nodes = await Promise.all(children.map((c) => load(path ? `${path}.${c.namespace}` : c.namespace, c.namespace, c.hash)));
    return new RemoteNode(namespace, schema, nodes);
  };
  return load('', mountName, undefined);
}
