/** `plexus-hub/mcp`: the MCP bridge for hosts that wire transports themselves. Imports the MCP SDK. */
export { createMcpServer, type McpBridgeOptions } from './bridge.js';
export { ToolCatalog } from './tool-catalog.js';
export { ToolCallGuard } from './tool-call-guard.js';
export { serveMcpStdio, type McpStdioOptions, type McpStdioServer } from './stdio.js';
export { mcpHttpHandler, serveMcpHttp, type McpHttpHandler, type McpHttpOptions, type McpHttpServer } from './http.js';
export { resolveNaming, toolName, underscoreName, pathFromUnderscore, type ToolNaming } from './tool-names.js';
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
} from './limits.js';
export { ToolCallBudget, type ToolCallLimits } from './tool-calls.js';
