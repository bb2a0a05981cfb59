/**
 * `hub mcp --url <ws-url> --agent <name> [--enroll <code>]`: a stdio MCP server for an
 * MCP host (Claude Code, Claude Desktop) that proxies to a *running* hub's MCP endpoint
 * as the agent, with the credential the agent redeemed from its enrollment code. The
 * hub decides everything (grants, visibility, revocation); the proxy only forwards
 * tools/list, tools/call (with progress, cancellation and elicitation) and
 * tools/list_changed, so its tools are exactly those the hub's `/mcp` shows the agent.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { type AgentCredential, agentCredentialFile, readAgentCredential, writeAgentCredential } from '../src/auth/index.js';

export interface AgentProxyOptions {
  /** The hub's WebSocket URL (`ws://host:port`), as `hub serve` prints it. */
  readonly url: string;
  readonly agent: string;
  readonly dataDir: string;
  /** An enrollment code to redeem when no credential is stored yet. */
  readonly enroll?: string;
}

/** `ws://h:p/…` → `http://h:p<path>` (wss → https): the hub serves HTTP on the WebSocket's port. */
export function httpUrlOf(wsUrl: string, path: string): URL {
  let url: URL;
  try {
    url = new URL(wsUrl);
  } catch {
    throw new Error(`--url ${wsUrl} is not a URL: give the hub's WebSocket URL, e.g. ws://127.0.0.1:4444`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol))
    throw new Error(`--url ${wsUrl}: expected a ws:// or wss:// URL (the one hub serve prints)`);
  const http = new URL(path, url);
  http.protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  return http;
}

/** Redeems `code` at the hub's `POST /enroll`; the answer's message on a refusal. */
export async function redeemEnrollment(wsUrl: string, code: string): Promise<AgentCredential> {
  const endpoint = httpUrlOf(wsUrl, '/enroll');
  let res: Response;
  try {
    res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  } catch (err) {
    throw new Error(`cannot reach the hub at ${endpoint.origin} to enroll: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as { token?: unknown; hub?: unknown; error?: { message?: string } } | undefined;
  if (!res.ok || typeof body?.token !== 'string' || typeof body.hub !== 'string')
    throw new Error(`enrollment refused by ${endpoint.origin} (HTTP ${res.status}): ${body?.error?.message ?? 'no answer'}`);
  return { url: wsUrl, token: body.token, hub: body.hub };
}

/** The agent's credential: the stored one, else the one `--enroll` redeems (and stores). */
export async function agentCredential(options: AgentProxyOptions, log: (line: string) => void): Promise<AgentCredential> {
  const file = agentCredentialFile(options.dataDir, options.agent);
  const stored = readAgentCredential(options.dataDir, options.agent);
  if (stored) {
    if (options.enroll !== undefined)
      log(`plexus-hub: agent ${options.agent} is already enrolled (${file}); --enroll is ignored (the code stays unused)`);
    return { ...stored, url: options.url };
  }
  if (options.enroll === undefined)
    throw new Error(
      `no credential for agent ${options.agent} in ${file}: start once with --enroll <code> (the owner runs hub agent enroll ${options.agent} on the hub's data dir)`,
    );
  const credential = await redeemEnrollment(options.url, options.enroll);
  writeAgentCredential(options.dataDir, options.agent, credential);
  log(`plexus-hub: agent ${options.agent} enrolled with hub ${credential.hub}; credential stored in ${file}`);
  return credential;
}

/** A call may run long (a bash command, an LLM chat): no client-side timeout beyond the host's own. */
const NO_TIMEOUT = 2 ** 31 - 1;

/**
 * Serves the proxy on stdin/stdout until the host closes stdin. The upstream MCP
 * session is opened on the first request (a hub that refuses the credential fails
 * that request with its reason) and reopened when the hub has dropped it (its idle
 * timeout).
 */
export async function serveAgentProxy(options: AgentProxyOptions, log: (line: string) => void): Promise<{ closed: Promise<void> }> {
  const credential = await agentCredential(options, log);
  const mcpUrl = httpUrlOf(credential.url, '/mcp');
  const server = new Server(
    { name: `plexus-hub agent ${options.agent}`, version: '0.1.0' },
    { capabilities: { tools: { listChanged: true } } },
  );

  /**
   * The upstream session, opened on the host's first request with the host's own
   * `clientInfo`, so the hub names tools for the real client (Claude Desktop gets
   * underscore names, as from `hub mcp` itself).
   */
  const connect = async (): Promise<Client> => {
    const host = server.getClientVersion();
    const client = new Client(
      { name: host?.name ?? `plexus-hub-agent-${options.agent}`, version: host?.version ?? '0.1.0' },
      { capabilities: { elicitation: {} } },
    );
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void server.sendToolListChanged().catch(() => {}));
    // A method that asks its caller a question: the host answers when it can, else the question is declined.
    client.setRequestHandler(ElicitRequestSchema, async (req) =>
      server.getClientCapabilities()?.elicitation ? server.elicitInput(req.params) : { action: 'decline' as const },
    );
    const transport = new StreamableHTTPClientTransport(mcpUrl, {
      requestInit: { headers: { authorization: `Bearer ${credential.token}` } },
    });
    try {
      await client.connect(transport);
    } catch (err) {
      const refused = /\b401\b|unauthorized/i.test(`${(err as { code?: unknown }).code} ${(err as Error).message}`);
      const why = refused ? 'the hub refused the credential (revoked or expired?)' : (err as Error).message;
      throw new McpError(ErrorCode.InternalError, `cannot open an MCP session at ${mcpUrl.href} as agent ${options.agent}: ${why}`);
    }
    return client;
  };
  let upstream: Promise<Client> | undefined;
  const session = (): Promise<Client> => {
    const opening = (upstream ??= connect());
    // A failed open is not kept: the next request tries again (the hub may be back).
    opening.catch(() => {
      if (upstream === opening) upstream = undefined;
    });
    return opening;
  };
  /** Runs `fn` on the upstream session; once more on a new session when the hub no longer knows this one (404). */
  const forward = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const opening = session();
    const client = await opening;
    try {
      return await fn(client);
    } catch (err) {
      if (!(err instanceof StreamableHTTPError && err.code === 404)) throw err;
      if (upstream === opening) upstream = undefined;
      return fn(await session());
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, (req, extra) => forward((c) => c.listTools(req.params, { signal: extra.signal })));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const progressToken = req.params._meta?.progressToken;
    let forwarded = 0;
    const result = await forward((c) =>
      c.callTool(req.params, CallToolResultSchema, {
        signal: extra.signal,
        timeout: NO_TIMEOUT,
        ...(progressToken !== undefined
          ? {
              onprogress: (p) => {
                forwarded++;
                void extra.sendNotification({ method: 'notifications/progress', params: { ...p, progressToken } }).catch(() => {});
              },
            }
          : {}),
      }),
    );
    // As the hub's bridge does: the SDK client drops progress read in the same chunk as
    // the result (typescript-sdk#2580), and a millisecond lets the pipe deliver them apart.
    if (forwarded > 0) await new Promise((r) => setTimeout(r, 1));
    return result;
  });

  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  const end = () => void server.close().catch(() => {});
  process.stdin.once('end', end);
  process.stdin.once('close', end);
  log(`plexus-hub: MCP proxy on stdio for agent ${options.agent} → ${mcpUrl.href}`);
  return {
    closed: closed.then(async () => {
      await (await upstream?.catch(() => undefined))?.close().catch(() => {});
    }),
  };
}
