/**
 * Hub methods that return one markdown document (an extension's skills) as MCP
 * resources (`plexus:<path>`) and prompts (named by path), beside their tools. Listed
 * and read under the same visibility as tools: a document the principal may not see
 * is unknown, exactly like one that does not exist. Reading one is a call, as the
 * principal, so grants and the audit log apply as to the tool.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode as McpErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import type { ToolCatalog, ToolEntry } from './tool-catalog.js';

export const DOCUMENT_URI_SCHEME = 'plexus:';

async function documents(catalog: ToolCatalog, principal: Principal | undefined): Promise<ToolEntry[]> {
  return [...(await catalog.entries()).values()].filter((e) => e.document && e.visible(principal));
}

async function documentAt(catalog: ToolCatalog, principal: Principal | undefined, path: string, what: string): Promise<ToolEntry> {
  const entry = (await documents(catalog, principal)).find((e) => e.path === path);
  if (!entry) throw new McpError(McpErrorCode.InvalidParams, `Unknown ${what}: ${path}`);
  return entry;
}

/** The document's text: its data item, or the call's error as an MCP error. */
async function read(entry: ToolEntry, principal: Principal | undefined, signal: AbortSignal): Promise<string> {
  let text = '';
  for await (const item of entry.run({}, signal, principal)) {
    if (item.type === 'data') text += typeof item.content === 'string' ? item.content : JSON.stringify(item.content);
    else if (item.type === 'error') throw new McpError(McpErrorCode.InternalError, `${entry.path}: ${item.message}`, { code: item.code });
  }
  return text;
}

/** Adds `resources/list|read` and `prompts/list|get` to `server` (declare both capabilities on it). */
export function serveDocuments(server: Server, catalog: ToolCatalog, principal: Principal | undefined): void {
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: (await documents(catalog, principal)).map((e) => ({
      uri: `${DOCUMENT_URI_SCHEME}${e.path}`,
      name: e.path,
      title: e.path,
      description: e.description,
      mimeType: 'text/markdown',
    })),
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req, extra) => {
    const { uri } = req.params;
    if (!uri.startsWith(DOCUMENT_URI_SCHEME)) throw new McpError(McpErrorCode.InvalidParams, `Unknown resource: ${uri}`);
    const entry = await documentAt(catalog, principal, uri.slice(DOCUMENT_URI_SCHEME.length), 'resource');
    return { contents: [{ uri, mimeType: 'text/markdown', text: await read(entry, principal, extra.signal) }] };
  });
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: (await documents(catalog, principal)).map((e) => ({ name: e.path, title: e.path, description: e.description })),
  }));
  server.setRequestHandler(GetPromptRequestSchema, async (req, extra) => {
    const entry = await documentAt(catalog, principal, req.params.name, 'prompt');
    return {
      description: entry.description,
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: await read(entry, principal, extra.signal) } }],
    };
  });
}
