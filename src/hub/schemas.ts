/**
 * The tree's schemas as the wire shows them: method schemas (the built-in `schema`
 * method included), an activation's plugin schema with its hashes, and a plugin
 * schema cut down to what a principal may see.
 */
import type { Activation, JsonSchema, MethodInfo } from '../activation/types.js';
import { DEFAULT_VERBS } from '../activation/verbs.js';
import { methodHash } from '../hash/content-hash.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import type { TreeHashes } from './tree-hashes.js';

export type { ChildSummary, MethodSchema, PluginSchema } from '../wire/schema-types.js';

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
      // Always spelled out, so a hub mounting this one never has to guess (it treats none as execute).
      verbs: m.verbs ?? DEFAULT_VERBS,
    };
    methodSchemas.set(m, s);
  }
  return s;
}

/** The method list as the wire shows it: own methods, then the built-in `schema`. */
export function methodList(node: Activation): MethodSchema[] {
  return [...node.methods().map(methodSchema), SCHEMA_METHOD];
}

/** What `<node>.schema` returns (to a caller who sees everything): hashes from the tree's `hashes`. */
export function pluginSchema(node: Activation, hashes: TreeHashes): PluginSchema {
  const h = hashes.of(node);
  const children = node.children?.();
  const health = node.health?.();
  return {
    namespace: node.namespace,
    version: node.version,
    description: node.description,
    ...(node.longDescription ? { long_description: node.longDescription } : {}),
    self_hash: h.self_hash,
    ...(h.children_hash !== undefined ? { children_hash: h.children_hash } : {}),
    hash: h.hash,
    methods: methodList(node),
    ...(health ? { health: { status: health.status, detail: health.detail } } : {}),
    ...(children
      ? {
          children: children
            .map((c) => ({ namespace: c.namespace, description: c.description, hash: hashes.of(c).hash }))
            .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0)),
        }
      : {}),
  };
}

/**
 * `schema` (of `node`, at `at`) as `principal` may see it under `visible` (the policy's): hidden
 * methods and children left out. Hashes stay the tree's, so they reveal nothing
 * a hash call would not.
 */
export function visibleSchema(
  schema: PluginSchema,
  node: Activation,
  at: readonly string[],
  principal: unknown,
  visible: (principal: unknown, node: Activation, at: readonly string[], method?: MethodInfo) => boolean,
): PluginSchema {
  const hidden = new Set(
    node
      .methods()
      .filter((m) => !visible(principal, node, at, m))
      .map((m) => m.name),
  );
  const children = node.children?.() ?? [];
  const hiddenChildren = new Set(children.filter((c) => !visible(principal, c, [...at, c.namespace])).map((c) => c.namespace));
  if (hidden.size === 0 && hiddenChildren.size === 0) return schema;
  return {
    ...schema,
    methods: schema.methods.filter((m) => !hidden.has(m.name)),
    ...(schema.children ? { children: schema.children.filter((c) => !hiddenChildren.has(c.namespace)) } : {}),
  };
}
