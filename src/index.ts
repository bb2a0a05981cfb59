/** plexus-hub: the public API. */
export { activation, method, type ActivationOptions, type MethodOptions } from './activation/decorators.js';
export { defineActivation, type DynamicActivationSpec, type DynamicMethod } from './activation/dynamic.js';
export { toActivation } from './activation/decorated.js';
export type { Activation, CallContext, JsonSchema, MethodInfo, NodeHealth, RequestOptions } from './activation/types.js';
export { CANCELLED_ANSWER, DEFAULT_REQUEST_TIMEOUT_MS } from './hub/pending-requests.js';
export { DynamicHub, type CallOptions, type DynamicHubOptions } from './hub/dynamic-hub.js';
export type { AccessCheck, HubPolicy, JoinCredential, JoinEvent, ObservedCall, RouteGuard } from './hub/policy.js';
export { ErrorCode, PlexusError, errorItemCode } from './wire/errors.js';
/** @deprecated The client throws `PlexusError` (the one error class of the wire); this is an alias of it. */
export { PlexusError as PlexusRpcError } from './wire/errors.js';
export type { ChildSummary, MethodSchema, PluginSchema } from './wire/schema-types.js';
export type { HashesReport } from './hub/tree-hashes.js';
export type { HashEvent } from './hub/root-methods.js';
/** RFC 8785 canonical JSON: what hashes are computed over; codegen compares schemas with it. */
export { canonicalJson } from './hash/content-hash.js';
/** @internal Hashing primitives, exported for the hash test vectors only; not part of the API. */
export { foldHash, methodHash, activationHashes, type ActivationHashes } from './hash/content-hash.js';
export { progress, type ProgressMark } from './stream/progress.js';
export { stopAs, type StopMark } from './stream/stop.js';
export { collectItems, type CallStream } from './stream/call-stream.js';
export {
  isTerminal,
  type DataItem,
  type DoneItem,
  type ErrorItem,
  type ProgressItem,
  type RequestItem,
  type StreamItem,
  type StreamMetadata,
  type StopReason,
  type TurnError,
  type TurnTerminal,
  type WireForm,
} from './wire/items.js';
export { canonicalSchema } from './schema/normalize.js';
export { SchemaExtractionError } from './schema/type-source.js';
export {
  PlexusClient,
  PlexusConnectionError,
  type ClientOptions,
  type ClientRequest,
  type ClientCallOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './client/plexus-client.js';
export {
  serveWebSocket,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_PING_INTERVAL_MS,
  type PlexusServer,
  type WebSocketServeOptions,
} from './transport/websocket-server.js';
export { StreamBudget, DEFAULT_MAX_TOTAL_STREAMS } from './transport/stream-budget.js';
export { ByteBudget, ConnectionBytes, DEFAULT_MAX_CONNECTION_BYTES, DEFAULT_MAX_TOTAL_BYTES } from './transport/byte-budget.js';
export { serveStdio, type StdioServeOptions } from './transport/stdio-server.js';
export { RpcSession } from './transport/rpc-session.js';
export type { CloseOptions, MessageSink, SessionLimits } from './transport/types.js';
export { DEFAULT_GRACE_MS } from './transport/types.js';
export { mcpHttpHandler, serveMcpHttp, type McpHttpHandler, type McpHttpOptions, type McpHttpServer } from './mcp/http.js';
export { serveMcpStdio, type McpStdioOptions, type McpStdioServer } from './mcp/stdio.js';
export { toolName, type ToolNaming } from './mcp/tool-names.js';
// The MCP limits' defaults without the SDK (which `plexus-hub/mcp` loads, and the
// two serve functions above load on first use: it is a third of a start's imports).
export {
  DEFAULT_MCP_BODY_TIMEOUT_MS,
  DEFAULT_MCP_MAX_BODIES,
  DEFAULT_MCP_MAX_BODY_BYTES,
  DEFAULT_MCP_MAX_CALLS,
  DEFAULT_MCP_MAX_CALLS_PER_SESSION,
  DEFAULT_MCP_MAX_ITEMS,
  DEFAULT_MCP_MAX_RESULT_BYTES,
  DEFAULT_MCP_MAX_SESSIONS,
  DEFAULT_MCP_SESSION_IDLE_MS,
} from './mcp/limits.js';
// Auth: tokens, grants, principals, the audit log, discovery.
export { HubAuth, hubAuthOf, isLoopbackHost, type AuthMode, type AuthResult, type HubAuthOptions } from './auth/hub-auth.js';
export { TokenStore, type TokenRecord, type TokenCheck } from './auth/token-store.js';
export { parseGrant, patternMatches, formatGrant, type Grant } from './auth/grants.js';
export { asPrincipal, openPrincipal, trustedPrincipal, type Principal } from './auth/principal.js';
export type { Verb } from './activation/verbs.js';
export { AuditLog, type AuditEvent, type AuditOutcome, type AuditRecord } from './auth/audit-log.js';
export { verifyAuditLog, type AuditVerdict } from './auth/audit-verify.js';
export { resolveDataDir } from './auth/data-dir.js';
export { discoveryHandler, DISCOVERY_PATH, type DiscoveryDocument, type DiscoveryOptions } from './transport/discovery.js';
export { enrollHandler, enrollOverWebSocket } from './transport/enroll.js';
export {
  mountRemote,
  RemoteHub,
  RemoteUnavailableError,
  REMOTE_UNAVAILABLE,
  acceptJoins,
  joinParent,
  JOIN_METHOD,
  DEFAULT_MAX_JOINS,
  JoinBindings,
  JOIN_BINDINGS_FILE,
  type JoinBinding,
  MountLimitError,
  type MountLimits,
  type MountOptions,
  type RemoteHubOptions,
  type AcceptJoinsOptions,
  type JoinAcceptor,
  type JoinHandle,
  type JoinOptions,
} from './federation/index.js';
export { provenanceBelow, type ProvenanceMark } from './stream/provenance.js';
