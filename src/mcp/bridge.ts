import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolRequest,
  CallToolRequestSchema,
  ErrorCode as McpErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { trustedPrincipal, type Principal } from '../auth/principal.js';
import { paramsProblem } from '../schema/validate.js';
import { ErrorCode } from '../wire/errors.js';
import { serveDocuments } from './documents.js';
import { elicit } from './elicitation.js';
import { DEFAULT_MCP_MAX_ITEMS, DEFAULT_MCP_MAX_RESULT_BYTES } from './limits.js';
import type { ToolCatalog } from './tool-catalog.js';
import { resolveNaming, toolName, type ToolNaming } from './tool-names.js';
import { ToolCallBudget, type ToolCallLimits } from './tool-calls.js';
import { errorResult, toolResult } from './tool-result.js';

export interface McpBridgeOptions {
  /** Tool naming policy (default `auto`). */
  readonly toolNames?: ToolNaming;
  /**
   * Data items one tool result collects (default 1,000). Past it the hub stream is
   * cancelled and the result says it was truncated.
   */
  readonly maxItems?: number;
  /** Bytes of item JSON one tool result collects (default 1 MiB); past it, the same. */
  readonly maxResultBytes?: number;
}

export interface McpServerOptions extends McpBridgeOptions, ToolCallLimits {
  /**
   * Who the MCP client is: `tools/list` shows only what it may call, and every
   * call is checked as it. Default: trusted (a stdio parent).
   */
  readonly principal?: Principal;
  /** The process's running tool calls (caps and shutdown); default: a budget of this server alone, with the limits given here. */
  readonly toolCalls?: ToolCallBudget;
}

/** Creates an MCP server (one per client session) whose tools are the hub's methods. */
export function createMcpServer(catalog: ToolCatalog, options: McpServerOptions = {}): Server {
  const hub = catalog.hub;
  const principal = options.principal ?? trustedPrincipal('mcp-stdio-parent', 'mcp-stdio');
  const server = new Server(
    { name: `plexus-hub (${hub.namespace})`, version: hub.version },
    {
      capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true } },
      instructions: `Tools are the methods of the Plexus RPC hub "${hub.namespace}", named by dot path. ${hub.namespace}.call reaches any method by path; ${hub.namespace}.schema describes any path.`,
    },
  );
  const maxItems = options.maxItems ?? DEFAULT_MCP_MAX_ITEMS;
  const maxBytes = options.maxResultBytes ?? DEFAULT_MCP_MAX_RESULT_BYTES;
  const naming = () => resolveNaming(options.toolNames ?? 'auto', server.getClientVersion()?.name);

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const form = naming();
    const tools: Tool[] = [...(await catalog.entries()).values()]
      .filter((e) => e.visible(principal))
      .map((e) => ({
        name: toolName(e.path, form),
        title: e.path,
        description: e.description,
        inputSchema: e.inputSchema as Tool['inputSchema'],
        outputSchema: e.outputSchema as Tool['outputSchema'],
      }));
    return { tools };
  });

  serveDocuments(server, catalog, principal);

  const calls = (options.toolCalls ?? new ToolCallBudget(options)).session();

  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    // Taken before the first await: the calls of one batch are counted as they arrive.
    const slot = calls.take();
    // A plain error with a code: the SDK answers it as is (McpError would prefix "MCP error -32005:").
    if (!('release' in slot)) throw Object.assign(new Error(slot.message), { code: slot.code });
    try {
      return await runTool(req, extra, slot.signal);
    } finally {
      slot.release();
    }
  });

  const runTool = async (
    req: CallToolRequest,
    extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
    shutdown: AbortSignal,
  ): Promise<CallToolResult> => {
    const found = await catalog.find(req.params.name);
    // A tool the principal may not see is unknown, exactly like one that does not exist.
    const entry = found?.visible(principal) ? found : undefined;
    if (!entry) throw new McpError(McpErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`);
    const args = req.params.arguments ?? {};
    const problem = paramsProblem(entry.inputSchema, args);
    if (problem) return errorResult({ type: 'error', message: `Invalid params: ${problem}`, code: String(ErrorCode.InvalidParams) });
    const progressToken = req.params._meta?.progressToken;
    let notified = 0;
    const notify = async (message: string): Promise<void> => {
      if (progressToken === undefined) return;
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: ++notified, message } });
    };
    // Elicitations run beside the stream (so a timeout or an error item is not held up
    // behind an open question) and are abandoned when the call ends.
    const asking = new AbortController();
    const stopAsking = (): void => asking.abort();
    const signal = AbortSignal.any([extra.signal, shutdown]);
    // Cut by shutdown after its grace: the client gets a result that says so, not a partial one.
    const cutByShutdown = (): CallToolResult | undefined =>
      shutdown.aborted && !extra.signal.aborted
        ? {
            isError: true,
            content: [{ type: 'text', text: 'Server shutting down: the call did not finish within the grace period and was cancelled' }],
          }
        : undefined;
    signal.addEventListener('abort', stopAsking, { once: true });
    try {
      const result = await toolResult(entry, args, {
        principal,
        signal,
        notify,
        ask: (item) => void elicit(server, hub, item, asking.signal),
        limits: { maxItems, maxBytes },
      });
      // The SDK client drops progress it reads in the same chunk as the result
      // (typescript-sdk#2580). A millisecond between them lets a pipe deliver them
      // apart: measured over stdio, 55 of 150 notifications lost without it, 2-6 with it.
      if (notified > 0 && !result.isError) await new Promise((r) => setTimeout(r, 1));
      return cutByShutdown() ?? result;
    } catch (err) {
      const cut = cutByShutdown();
      if (cut) return cut;
      throw err;
    } finally {
      signal.removeEventListener('abort', stopAsking);
      asking.abort();
    }
  };

  // The server is new and its session's end is the listener's: the hook is free to take.
  server.onclose = hub.onChange(() => {
    void server.sendToolListChanged().catch(() => {});
    void server.sendResourceListChanged().catch(() => {});
    void server.sendPromptListChanged().catch(() => {});
  });
  return server;
}
