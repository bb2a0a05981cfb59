import type { Readable, Writable } from 'node:stream';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import type { McpServerOptions } from './bridge.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../transport/types.js';
import { ToolCatalog } from './tool-catalog.js';

export interface McpStdioOptions extends McpServerOptions {
  /** Default `process.stdin`. */
  readonly input?: Readable;
  /** Default `process.stdout`. */
  readonly output?: Writable;
  /** Longest accepted line in bytes (default 1 MiB, as `hub serve --stdio`); a longer one is skipped with -32600. */
  readonly maxFrameBytes?: number;
}

export interface McpStdioServer {
  /** Closes the MCP session (the hub keeps running); running tool calls are cancelled. */
  close(): Promise<void>;
  /** Resolves once the session is closed: by `close()` or by the end of the input. */
  readonly closed: Promise<void>;
}

/**
 * `hub mcp`: the hub's methods as MCP tools over stdio (newline-delimited JSON-RPC),
 * for hosts such as Claude Desktop or Claude Code that spawn the server. The MCP
 * SDK is imported here, on use, so plain `hub serve` never pays for it.
 */
export async function serveMcpStdio(hub: DynamicHub, options: McpStdioOptions = {}): Promise<McpStdioServer> {
  const maxBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxFrameBytes must be a positive integer, not ${maxBytes}`);
  const [{ LineStdioTransport }, { createMcpServer }, { ToolCallGuard }] = await Promise.all([
    import('./stdio-transport.js'),
    import('./bridge.js'),
    import('./tool-call-guard.js'),
  ]);
  const input = options.input ?? process.stdin;
  const catalog = new ToolCatalog(hub);
  const server = createMcpServer(catalog, options);
  const transport = new ToolCallGuard(new LineStdioTransport(input, options.output ?? process.stdout, maxBytes), catalog);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
  });
  await server.connect(transport);
  // The SDK transport ignores the end of its input: the host is gone, so close the
  // session, which aborts running tool calls (their hub streams are cancelled).
  const ended = () => void server.close().catch(() => {});
  input.once('end', ended);
  input.once('close', ended);
  return { close: () => server.close(), closed };
}
