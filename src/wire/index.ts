/**
 * `plexus-hub/wire`: the contract every side shares (spec §2–§4): schema types,
 * stream items, error codes and the one error class, JSON-RPC framing. It imports
 * nothing outside this folder, so `hub codegen` copies it into generated clients.
 */
export type { ChildSummary, JsonSchema, MethodSchema, PluginSchema } from './schema-types.js';
export {
  isTerminal,
  RAW_CONTENT,
  TERMINAL_SUFFIX,
  UPDATE_SUFFIX,
  WIRE_FORMS,
  type StopDetail,
  type StandardRequest,
  type StandardResponse,
  type StopReason,
  type TurnError,
  type TurnTerminal,
  type WireForm,
  type DataItem,
  type DoneItem,
  type ErrorItem,
  type ProgressItem,
  type RequestItem,
  type StreamItem,
  type StreamMetadata,
} from './items.js';
export { ErrorCode, PlexusError, toPlexusError, turnCodeValue, turnErrorCode } from './errors.js';
export { itemOutcome, turnTerminal } from './outcome.js';
export {
  CANCELLED_ANSWER,
  errorResponse,
  itemJson,
  itemNotification,
  NOTIFICATION_HEAD,
  NOTIFICATION_RESULT,
  parseRequest,
  requestFrame,
  respondParams,
  RESPONSE_HEAD,
  RESPONSE_RESULT,
  resultResponse,
  type JsonRpcErrorObject,
  type JsonRpcRequest,
  type RequestId,
} from './jsonrpc.js';
