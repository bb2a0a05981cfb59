import type { Readable, Writable } from 'node:stream';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import type { McpServerOptions } from './bridge.js';

export interface McpStdioOptions extends McpServerOptions {
  /** Default `process.stdin`. */
  readonly input?: Readable;
  /** Default `process.stdout`. */
  readonly output?: Writable;
}

export interface McpStdioServer {
  /** Closes the MCP session (the hub keeps running). */
  close(): Promise<void>;
}

/**
 * `hub mcp`: the hub's methods as MCP tools over stdio (newline-delimited JSON-RPC),
 * for hosts such as Claude Desktop or Claude Code that spawn the server. The MCP
 * SDK is imported here, on use, so plain `hub serve` never pays for it.
 */
export async function serveMcpStdio(hub: DynamicHub, options: McpStdioOptions = {}): Promise<McpStdioServer> {
  const [{ StdioServerTransport }, { createMcpServer, ToolCatalog }] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/stdio.js'),
    import('./bridge.js'),
  ]);
  const server = createMcpServer(new ToolCatalog(hub), options);
  await server.connect(new StdioServerTransport(options.input, options.output));
  return { close: () => server.close() };
}
