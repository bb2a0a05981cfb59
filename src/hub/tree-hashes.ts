import type { Activation, JsonSchema, MethodInfo } from '../activation/types.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';

export type { ChildSummary, MethodSchema, PluginSchema } from '../wire/schema-types.js';
import { activationHashes, methodHash, type ActivationHashes } from '../hash/content-hash.js';

/** What `<root>.hashes` returns. */
export interface HashesReport extends ActivationHashes {
  readonly namespace: string;
  readonly children?: readonly { readonly namespace: string; readonly hash: string }[];
}

/** Every activation's built-in `schema` method, exactly as the reference lists it. */
export const SCHEMA_METHOD: MethodSchema = {
  name: 'schema',
  description: 'Get plugin or method schema. Pass {"method": "name"} for a specific method.',
  hash: 'auto_schema',
  streaming: false,
  bidirectional: false,
};

/** Params the built-in `schema` method accepts. */
export const SCHEMA_PARAMS: JsonSchema = {
  type: 'object',
  properties: { method: { type: 'string', description: 'A method name of this activation' } },
  additionalProperties: false,
};

const methodSchemas = new WeakMap<MethodInfo, MethodSchema>();

export function methodSchema(m: MethodInfo): MethodSchema {
  let s = methodSchemas.get(m);
  if (!s) {
    s = {
      name: m.name,
      description: m.description,
      hash: m.hash ?? methodHash(m),
      ...(m.params ? { params: m.params } : {}),
      returns: m.returns,
      streaming: m.streaming,
      bidirectional: m.bidirectional ?? false,
    };
    methodSchemas.set(m, s);
  }
  return s;
}

/** The method list as the wire shows it: own methods, then the built-in `schema`. */
export function methodList(node: Activation): MethodSchema[] {
  return [...node.methods().map(methodSchema), SCHEMA_METHOD];
}

/**
 * Hashes of a tree, memoised per node. The owner drops it (makes a new one)
 * whenever anything in the tree changes.
 */
export class TreeHashes {
  readonly #memo = new Map<Activation, ActivationHashes>();

  of(node: Activation): ActivationHashes {
    let h = this.#memo.get(node);
    if (!h) h = node.contentHashes?.();
    if (!h) {
      const own = methodList(node).map((m) => m.hash);
      const children = node.children?.();
      h = activationHashes(
        own,
        children?.map((c) => this.of(c).hash),
      );
      this.#memo.set(node, h);
    }
    return h;
  }

  plugin(node: Activation): PluginSchema {
    const h = this.of(node);
    const children = node.children?.();
    return {
      namespace: node.namespace,
      version: node.version,
      description: node.description,
      ...(node.longDescription ? { long_description: node.longDescription } : {}),
      self_hash: h.self_hash,
      ...(h.children_hash !== undefined ? { children_hash: h.children_hash } : {}),
      hash: h.hash,
      methods: methodList(node),
      ...(children
        ? {
            children: children
              .map((c) => ({ namespace: c.namespace, description: c.description, hash: this.of(c).hash }))
              .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0)),
          }
        : {}),
    };
  }

  report(node: Activation): HashesReport {
    const children = node.children?.();
    return {
      namespace: node.namespace,
      ...this.of(node),
      ...(children ? { children: children.map((c) => ({ namespace: c.namespace, hash: this.of(c).hash })) } : {}),
    };
  }
}
