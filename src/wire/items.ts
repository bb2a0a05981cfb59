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
  /** What the error is about, for a program to act on (`PlexusError.details`); omitted when none. */
  readonly details?: unknown;
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

/**
 * The two wire forms a connection can speak (docs/protocol.md "Wire forms"):
 * `legacy`, the default, one `data` item per value then `done`; `turns`, the newest
 * reference's projection, `<path>.update` data items, one `<path>.terminal` data item
 * with a `TurnTerminal`, then `done`.
 */
export type WireForm = 'legacy' | 'turns';

export const WIRE_FORMS: readonly WireForm[] = ['legacy', 'turns'];

/** How a turn stopped (the reference's `StopReason`, tagged by `kind`). */
export type StopReason =
  | { readonly kind: 'complete'; readonly detail?: StopDetail }
  | { readonly kind: 'cancelled'; readonly detail?: StopDetail }
  | { readonly kind: 'refused'; readonly detail?: StopDetail }
  | { readonly kind: 'limited'; readonly detail?: StopDetail }
  | { readonly kind: 'failed'; readonly error: TurnError; readonly detail?: StopDetail };

export interface StopDetail {
  readonly code: string;
  readonly message?: string;
  /** Omitted when empty. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A failed turn's error: a dotted code (`plexus.invalid_params`, `arbor.tree_not_found`), a message, maybe details. */
export interface TurnError {
  readonly code: string;
  readonly message: string;
  readonly retryable?: boolean;
  readonly details?: unknown;
}

/** The content of a `<path>.terminal` data item. */
export interface TurnTerminal<T = unknown> {
  readonly stop: StopReason;
  /** A unary method's result; null for a streaming one (its values were the updates). */
  readonly value: T | null;
}

/** `content_type` suffixes of the turn form. */
export const UPDATE_SUFFIX = '.update';
export const TERMINAL_SUFFIX = '.terminal';

/**
 * What a method asks in the turn form (the reference's `StandardRequest`, tagged by
 * `type`): `requestData` of a `request` item. The older form asks `{prompt, schema?}`.
 */
export type StandardRequest =
  | { readonly type: 'confirm'; readonly message: string; readonly default?: boolean }
  | { readonly type: 'prompt'; readonly message: string; readonly default?: unknown; readonly placeholder?: string }
  | {
      readonly type: 'select';
      readonly message: string;
      readonly options: readonly { readonly value: unknown; readonly label: string; readonly description?: string }[];
      readonly multi_select: boolean;
    }
  | { readonly type: 'custom'; readonly data: unknown };

/** An answer in the reference's tagged form (`StandardResponse`); a server also takes the bare value. */
export type StandardResponse =
  | { readonly type: 'confirmed'; readonly value: boolean }
  | { readonly type: 'text'; readonly value: unknown }
  | { readonly type: 'selected'; readonly values: readonly unknown[] }
  | { readonly type: 'custom'; readonly data: unknown }
  | { readonly type: 'cancelled' };
