/** JSON-RPC 2.0 framing: parsing requests and serialising responses and notifications. */
import { RAW_CONTENT, type StreamItem, type StreamMetadata } from './items.js';

export type RequestId = string | number | null;

export interface JsonRpcRequest {
  readonly id?: RequestId;
  readonly method: string;
  readonly params?: unknown;
}

export interface JsonRpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** Parses one frame into a request, or says which error answers it (and to which id). */
export function parseRequest(text: string): { request: JsonRpcRequest } | { error: JsonRpcErrorObject; id: RequestId } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: { code: -32700, message: `Parse error: ${(err as Error).message}` }, id: null };
  }
  if (Array.isArray(value)) {
    return { error: { code: -32600, message: 'Invalid request: batch requests are not supported; send one request per frame' }, id: null };
  }
  if (typeof value !== 'object' || value === null) {
    return { error: { code: -32600, message: 'Invalid request: expected a JSON-RPC 2.0 request object' }, id: null };
  }
  // Named fields rather than an index signature: the runtime is copied into clients built with `noPropertyAccessFromIndexSignature`.
  const msg = value as { readonly id?: unknown; readonly jsonrpc?: unknown; readonly method?: unknown; readonly params?: unknown };
  const id = msg.id;
  const validId = id === undefined || id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  const replyTo: RequestId = validId && id !== undefined ? (id as RequestId) : null;
  if (!validId) return { error: { code: -32600, message: 'Invalid request: "id" must be a string, a number or null' }, id: null };
  // Past 2^53 a JSON number is no longer read exactly: the answer would carry another id.
  if (typeof id === 'number' && Number.isInteger(id) && !Number.isSafeInteger(id)) {
    return {
      error: {
        code: -32600,
        message: 'Invalid request: a numeric "id" must be within ±(2^53 - 1) to be answered exactly; send a larger one as a string',
      },
      id: null,
    };
  }
  if (msg.jsonrpc !== '2.0') return { error: { code: -32600, message: 'Invalid request: "jsonrpc" must be "2.0"' }, id: replyTo };
  if (typeof msg.method !== 'string')
    return { error: { code: -32600, message: 'Invalid request: "method" must be a string' }, id: replyTo };
  if (msg.params !== undefined && (typeof msg.params !== 'object' || msg.params === null)) {
    return { error: { code: -32600, message: 'Invalid request: "params" must be an array or an object' }, id: replyTo };
  }
  // The parsed object already has the request's shape; no copy on the hot path.
  return { request: msg as unknown as JsonRpcRequest };
}

/**
 * A request frame. Every side that asks (the client, a mount, a joining hub) builds
 * its requests here; `params` is left out when undefined.
 */
export function requestFrame(id: number, method: string, params?: unknown): string {
  return params === undefined
    ? `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)}}`
    : `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`;
}

/** The params of `<root>.respond`: the answer to the `request` item `requestId`. */
export function respondParams(requestId: string, answer: unknown): { request_id: string; response_data: unknown } {
  return { request_id: requestId, response_data: answer };
}

/** The answer that declines a request (what reference clients send without a handler). */
export const CANCELLED_ANSWER = { type: 'cancelled' } as const;

/**
 * How a response begins: `{"jsonrpc":"2.0","id":<id>,"result":…}`. A reader may
 * match these bytes to take an answer without parsing it (what `resultResponse` writes).
 */
export const RESPONSE_HEAD = '{"jsonrpc":"2.0","id":';
export const RESPONSE_RESULT = ',"result":';

export function resultResponse(id: RequestId, result: unknown): string {
  return `${RESPONSE_HEAD}${JSON.stringify(id)}${RESPONSE_RESULT}${JSON.stringify(result)}}`;
}

export function errorResponse(id: RequestId, error: JsonRpcErrorObject): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${JSON.stringify(error)}}`;
}

/** JSON of shared metadata objects: consecutive items of a call share one (see ItemFactory). */
const metadataJson = new WeakMap<StreamMetadata, string>();

/** JSON of provenance arrays, which the metadata objects of one route share. */
const provenanceJson = new WeakMap<readonly string[], string>();
/** The members of a done item's metadata with its audit id, in the order a server makes them. */
const AUDITED_KEYS = ['provenance', 'plexus_hash', 'timestamp', 'audit_id'];

/**
 * A done item's own metadata (with its audit id) is used once: not worth a WeakMap
 * entry, and in the usual shape made from parts, byte for byte what JSON.stringify
 * gives, at a fraction of its cost.
 */
function auditedMetadataText(m: StreamMetadata): string {
  let i = 0;
  for (const key in m) if (key !== AUDITED_KEYS[i++]) return JSON.stringify(m);
  const { provenance, plexus_hash, timestamp, audit_id } = m;
  if (
    i !== 4 ||
    !Array.isArray(provenance) ||
    typeof plexus_hash !== 'string' ||
    typeof timestamp !== 'number' ||
    typeof audit_id !== 'number' ||
    !Number.isFinite(audit_id)
  ) {
    return JSON.stringify(m);
  }
  let p = provenanceJson.get(provenance);
  if (p === undefined) provenanceJson.set(provenance, (p = JSON.stringify(provenance)));
  return `{"provenance":${p},"plexus_hash":${JSON.stringify(plexus_hash)},"timestamp":${JSON.stringify(timestamp)},"audit_id":${audit_id}}`;
}

function metadataText(m: StreamMetadata): string {
  if (m.audit_id !== undefined) return auditedMetadataText(m);
  let text = metadataJson.get(m);
  if (text === undefined) {
    text = JSON.stringify(m);
    metadataJson.set(m, text);
  }
  return text;
}

/**
 * An item as JSON, byte for byte what `JSON.stringify(item)` gives, but reusing the
 * metadata's JSON: on a stream of small items that is most of the bytes.
 */
export function itemJson(item: StreamItem): string {
  if (item.type === 'data') {
    const raw = (item as { [RAW_CONTENT]?: string })[RAW_CONTENT];
    return `{"type":"data","metadata":${metadataText(item.metadata)},"content_type":${JSON.stringify(item.content_type)},"content":${raw ?? JSON.stringify(item.content)}}`;
  }
  if (item.type === 'done') return `{"type":"done","metadata":${metadataText(item.metadata)}}`;
  return JSON.stringify(item);
}

/**
 * How an item notification begins: `<head><subscription><result><item>}}`. A reader
 * may match these bytes to find a notification's subscription without parsing the
 * frame (what `itemNotification` writes).
 */
export const NOTIFICATION_HEAD = '{"jsonrpc":"2.0","method":"result","params":{"subscription":';
export const NOTIFICATION_RESULT = ',"result":';

/** A stream item notification, built as a string so no envelope object is allocated per item. */
export function itemNotification(subscription: number, item: StreamItem): string {
  return `${NOTIFICATION_HEAD}${subscription}${NOTIFICATION_RESULT}${itemJson(item)}}}`;
}
