/**
 * Defaults of the MCP bridge's limits. Kept apart from the bridge so the CLI can
 * show them without importing the MCP SDK (loaded on first use).
 */

/** Data items one tool result collects before the stream is cancelled and the result marked truncated. */
export const DEFAULT_MCP_MAX_ITEMS = 1000;
/** Bytes of item JSON one tool result collects, likewise. */
export const DEFAULT_MCP_MAX_RESULT_BYTES = 1024 * 1024;
/** Live sessions of the MCP HTTP endpoint. */
export const DEFAULT_MCP_MAX_SESSIONS = 1000;
/** A session with no request in flight for this long is closed. */
export const DEFAULT_MCP_SESSION_IDLE_MS = 30 * 60 * 1000;
