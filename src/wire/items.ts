/** The wire's `PlexusStreamItem`, internally tagged by `type` (spec §2). */

export interface StreamMetadata {
  /** Routing path of the activation that produced the item, never empty. */
  readonly provenance: readonly string[];
  /** The root hub's hash when the item was produced. */
  readonly plexus_hash: string;
  /** Unix seconds. */
  readonly timestamp: number;
  /** On the `done` item of a call the hub audited: the id (seq) of its audit log record. */
  readonly audit_id?: number;
}

export interface DataItem<T = unknown> {
  readonly type: 'data';
  readonly metadata: StreamMetadata;
  /** The producing method's full dot path, e.g. `echo.echo`. */
  readonly content_type: string;
  readonly content: T;
}

export interface ProgressItem {
  readonly type: 'progress';
  readonly metadata: StreamMetadata;
  readonly message: string;
  readonly percentage?: number;
}

export interface ErrorItem {
  readonly type: 'error';
  readonly metadata: StreamMetadata;
  readonly message: string;
  /** A JSON-RPC style code as a string, e.g. `"-32601"`; omitted when none. */
  readonly code?: string;
  readonly recoverable: boolean;
  /** `remote_unavailable` only: when the mounted remote hub became unreachable (ISO 8601). */
  readonly since?: string;
}

export interface DoneItem {
  readonly type: 'done';
  readonly metadata: StreamMetadata;
}

/**
 * A data item relayed from a mounted hub may carry its content's JSON text under
 * this (non-enumerable) key: it is written out as-is instead of being serialised
 * again, and `content` parses it only if someone reads it.
 */
export const RAW_CONTENT: unique symbol = Symbol.for('plexus.raw_content');

/**
 * The server asks the caller something mid-stream; the caller answers with
 * `<root>.respond {"request_id", "response_data"}`. The one item without metadata,
 * and camelCase, as the reference has it.
 */
export interface RequestItem {
  readonly type: 'request';
  readonly requestId: string;
  /** What the method asks: `{"prompt": "...", "schema": {...}}` for `ctx.request()`. */
  readonly requestData: unknown;
  /** How long the server waits for the answer. */
  readonly timeoutMs: number;
}

export type StreamItem<T = unknown> = DataItem<T> | ProgressItem | ErrorItem | DoneItem | RequestItem;

/** True for the items after which a stream carries nothing more. */
export function isTerminal(item: StreamItem): item is ErrorItem | DoneItem {
  return item.type === 'done' || item.type === 'error';
}
