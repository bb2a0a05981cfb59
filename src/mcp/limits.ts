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
/** Tool calls running at once in one MCP session (each may hold up to the result caps). */
export const DEFAULT_MCP_MAX_CALLS_PER_SESSION = 16;
/** Tool calls running at once across every MCP session of a process. */
export const DEFAULT_MCP_MAX_CALLS = 64;
/** Request bodies of the MCP HTTP endpoint being received at once (each up to the body cap). */
export const DEFAULT_MCP_MAX_BODIES = 16;
/** Largest MCP HTTP request body. */
export const DEFAULT_MCP_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Time a client has to send a whole MCP request body, from its headers. */
export const DEFAULT_MCP_BODY_TIMEOUT_MS = 10_000;
