import type { Verb } from './verbs.js';
import type { JsonSchema } from '../wire/schema-types.js';

export type { JsonSchema } from '../wire/schema-types.js';

/** What the hub knows of one callable method. */
export interface MethodInfo {
  /** Wire name, one path segment: `[a-z][a-z0-9_]*`. */
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the params object (`type: object`); absent when the method takes none. */
  readonly params?: JsonSchema;
  /** JSON Schema of one data item's content. */
  readonly returns: JsonSchema;
  readonly streaming: boolean;
  /**
   * Set for methods a mounted (remote) hub describes: the hash as the remote
   * computed it, used as-is. Otherwise the hash is computed from the fields above.
   */
  readonly hash?: string;
  /** What a caller must be granted to call it; absent means `['read']`. */
  readonly verbs?: readonly Verb[];
  /** The method may ask its caller questions mid-stream (`ctx.request`). */
  readonly bidirectional?: boolean;
}

/**
 * Per-call facts a method can ask for by declaring a parameter of this type
 * (anywhere in its signature). It is never part of the params schema.
 */
export interface CallContext {
  /** Aborted when the caller cancels (unsubscribes, disconnects, stops iterating). */
  readonly signal: AbortSignal;
  /** Full dot path of the method being called, e.g. `solar.earth.info`. */
  readonly path: string;
  /**
   * Who is calling, as the caller's transport established it (`CallOptions.principal`);
   * undefined when nobody said. The hub's route guard has already checked it. With
   * the hub's own auth it is a `Principal` (`name`: a token's principal, `anonymous`
   * on an open hub, `stdio-parent`); see `asPrincipal()`.
   */
  readonly principal?: unknown;
  /**
   * Asks the caller a question mid-stream and resolves with the answer, validated
   * against `schema`. Rejects with a PlexusError when the caller declines
   * (`{"type":"cancelled"}`), answers something the schema refuses, does not answer
   * within `timeoutMs` (default 30 s), or cancels the call. Only for methods declared
   * `@method({ bidirectional: true })`.
   */
  request<T = unknown>(question: RequestOptions): Promise<T>;
}

/** A question for `ctx.request()`. */
export interface RequestOptions {
  /** What to ask, for a person: `Delete 3 files?` */
  readonly prompt: string;
  /** JSON Schema of the answer (e.g. `{ "type": "boolean" }`); any JSON when omitted. */
  readonly schema?: JsonSchema;
  /** How long to wait (default 30 000 ms). */
  readonly timeoutMs?: number;
}

/**
 * The one interface the hub routes through. Decorated classes, dynamic
 * activations and hubs all end up as this.
 */
export interface Activation {
  /** One path segment: `[a-z][a-z0-9_]*`. */
  readonly namespace: string;
  readonly version: string;
  readonly description: string;
  readonly longDescription?: string;
  /**
   * Its calls (and those of its children) keep the older wire form even for a
   * connection that reads the turn form, as the reference's hand-written
   * activations (health, solar) do. See docs/protocol.md "Wire forms".
   */
  readonly legacyWire?: boolean;
  /** The activation's own methods, without the built-in `schema`. */
  methods(): readonly MethodInfo[];
  /**
   * Runs a method with already-validated params. May return a value, a Promise,
   * an AsyncIterable, a Generator or an rxjs Observable.
   */
  invoke(method: string, params: Readonly<Record<string, unknown>>, ctx: CallContext): unknown;
  /**
   * Loads whatever `methods()` needs (a decorated class's schema). The hub awaits
   * it for every node before routing or hashing.
   */
  prepare?(): Promise<void>;
  /**
   * The node's current health (an extension source: is its binary there, does its host
   * answer?), shown in its schema. Not part of any hash: it changes while the tree does not.
   */
  health?(): NodeHealth | undefined;
  /** Hubs only: the child activations, each routed by its namespace. */
  children?(): readonly Activation[];
  /** Hubs whose children can change at runtime report it here; returns an unsubscribe. */
  onChange?(listener: () => void): () => void;
  /**
   * Mounted hubs only (a remote server, a hub in another process): the router stops
   * at this node and hands it the rest of the path, e.g. `earth.luna.info` for
   * `solar.earth.luna.info` when `solar` is mounted. The route guard has run for
   * every hop down to here; params are passed unvalidated (the mounted hub knows
   * its schemas). Returns what `invoke` returns. `methods()`/`children()` still
   * describe the node for schemas and hashes.
   */
  forward?(rest: string, params: Readonly<Record<string, unknown>>, ctx: CallContext): unknown;
  /**
   * Nodes of a mounted hub's tree only: their hashes as the remote reported them.
   * The local tree folds them like any other child's, so the local root hash
   * changes exactly when the remote's does. Undefined: computed as usual.
   */
  contentHashes?(): { readonly self_hash: string; readonly children_hash?: string; readonly hash: string } | undefined;
  /**
   * Releases what the node holds once it is no longer in a tree: `hub.unregister()`
   * calls it after removing the node (a mounted hub stops reconnecting and closes its
   * connection). Not called when the hub itself shuts down.
   */
  close?(): void;
}

/** A node's health as its schema shows it (`PluginSchema.health`). */
export interface NodeHealth {
  readonly status: 'ok' | 'degraded' | 'unavailable' | 'unknown';
  /** What a person can act on: which binary is missing, which host did not answer. */
  readonly detail: string;
}

export const SEGMENT_PATTERN = /^[a-z][a-z0-9_]*$/;

export function isActivation(value: unknown): value is Activation {
  const v = value as Partial<Activation> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.namespace === 'string' &&
    typeof v.methods === 'function' &&
    typeof v.invoke === 'function'
  );
}

export function assertSegment(kind: string, value: string): void {
  if (!SEGMENT_PATTERN.test(value)) {
    throw new TypeError(`${kind} "${value}" is not a valid path segment: it must match ${SEGMENT_PATTERN.source}`);
  }
}
