/**
 * Schema types as they cross the wire (spec §4). This module imports nothing, so
 * `hub codegen` can copy it into generated clients as-is.
 */

/** A JSON Schema object in the canonical form (see `schema/normalize.ts`). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** One entry of `PluginSchema.methods`. */
export interface MethodSchema {
  readonly name: string;
  readonly description: string;
  readonly hash: string;
  readonly params?: JsonSchema;
  readonly returns?: JsonSchema;
  readonly streaming: boolean;
  readonly bidirectional: boolean;
  /**
   * What the method needs from its caller (OUR CHOICE, additive; not in the hash):
   * `read`, `write`, `execute`. A hub that mounts this one checks its callers' grants
   * against them; a method that declares none is treated as `execute` there.
   */
  readonly verbs?: readonly ('read' | 'write' | 'execute')[];
}

export interface ChildSummary {
  readonly namespace: string;
  readonly description: string;
  readonly hash: string;
}

/** What `<path>.schema` returns for an activation. */
export interface PluginSchema {
  readonly namespace: string;
  readonly version: string;
  readonly description: string;
  readonly long_description?: string;
  /** The node's current health, when it reports one (an extension source); not part of any hash. */
  readonly health?: { readonly status: 'ok' | 'degraded' | 'unavailable' | 'unknown'; readonly detail: string };
  readonly self_hash: string;
  readonly children_hash?: string;
  readonly hash: string;
  readonly methods: readonly MethodSchema[];
  readonly children?: readonly ChildSummary[];
}
