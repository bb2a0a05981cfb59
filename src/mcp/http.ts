import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { hubAuthOf } from '../auth/hub-auth.js';
import { openPrincipal, type Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { guardRequests, guardUpgrades, OriginGuard, refuseUpgrade, requestPath, type OriginPolicy } from '../transport/http-guard.js';
import { ErrorCode } from '../wire/errors.js';
import type { McpBridgeOptions } from './bridge.js';
import { ToolCatalog } from './tool-catalog.js';
import { SessionTable } from './sessions.js';

/**
 * The MCP SDK takes about half a second to import; `hub serve` mounts this
 * handler on every start, so the SDK is loaded on the first MCP request instead.
 */
let sdk:
  | Promise<{
      StreamableHTTPServerTransport: typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js').StreamableHTTPServerTransport;
      isInitializeRequest: typeof import('@modelcontextprotocol/sdk/types.js').isInitializeRequest;
      bridge: typeof import('./bridge.js');
      ToolCallGuard: typeof import('./tool-call-guard.js').ToolCallGuard;
    }>
  | undefined;
const loadSdk = () =>
  (sdk ??= Promise.all([
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
    import('./bridge.js'),
    import('./tool-call-guard.js'),
  ]).then(([http, types, bridge, guard]) => ({
    StreamableHTTPServerTransport: http.StreamableHTTPServerTransport,
    isInitializeRequest: types.isInitializeRequest,
    bridge,
    ToolCallGuard: guard.ToolCallGuard,
  })));

/**
 * DNS-rebinding protection (`allowedHosts`, `allowedOrigins`) is the same rule as
 * the WebSocket upgrade's: see `OriginPolicy`. It applies once `bind()` has told
 * the handler its address (the servers here do).
 */
export interface McpHttpOptions extends McpBridgeOptions, OriginPolicy {
  /** Default `/mcp`. */
  readonly path?: string;
  /** Live sessions (default 1,000); at the cap a new one evicts the session idle the longest, or gets 503. */
  readonly maxSessions?: number;
  /** A session with no request in flight for this long is closed (default 30 min). */
  readonly sessionIdleMs?: number;
}

export interface McpHttpHandler {
  /** Handles the request when it is for the MCP path; returns false otherwise. */
  (req: IncomingMessage, res: ServerResponse): boolean;
  /** Sets the port once known (for the default allowed hosts). */
  bind(host: string, port: number): void;
  readonly sessions: number;
  close(): Promise<void>;
}

function jsonError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readJson(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error(`Request body is larger than ${limit} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw Object.assign(new Error('Parse error: the body is not JSON'), { status: 400, code: -32700 });
  }
}

/** The ids of the JSON-RPC requests in a POST body (one message or a batch). */
function requestIds(body: unknown): (string | number)[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: (string | number)[] = [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null || typeof (m as { method?: unknown }).method !== 'string') continue;
    const id = (m as { id?: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') ids.push(id);
  }
  return ids;
}

/**
 * A client that drops the connection of a POST no longer waits for its answers:
 * its requests are cancelled as a `notifications/cancelled` would, so a running
 * tool call stops its hub stream (the SDK only aborts them when the session closes).
 */
function cancelOnDisconnect(res: ServerResponse, transport: StreamableHTTPServerTransport, body: unknown): void {
  const ids = requestIds(body);
  if (ids.length === 0) return;
  res.once('close', () => {
    if (res.writableFinished) return;
    for (const requestId of ids) {
      transport.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId, reason: 'The client disconnected' },
      });
    }
  });
}

/**
 * MCP over streamable HTTP with sessions: each `initialize` opens a session (its
 * own MCP server over the shared tool catalog), later requests carry its
 * `mcp-session-id`. Host/Origin checks guard loopback servers against DNS rebinding.
 */
export function mcpHttpHandler(hub: DynamicHub, options: McpHttpOptions = {}): McpHttpHandler {
  const path = options.path ?? '/mcp';
  let catalog: ToolCatalog | undefined;
  const sessions = new SessionTable<StreamableHTTPServerTransport>(options.maxSessions, options.sessionIdleMs);
  const origins = new OriginGuard(options);
  let bound = false;

  /** Who each session belongs to: a later request must present the same token. */
  const owners = new Map<string, Principal>();

  /** The request's principal, or undefined after answering 401/429. */
  const authenticate = (req: IncomingMessage, res: ServerResponse): Principal | undefined => {
    const auth = hubAuthOf(hub);
    if (!auth) return openPrincipal('mcp-http', req.socket.remoteAddress);
    const result = auth.authenticateRequest(req, 'mcp-http');
    if (!result.ok) {
      if (result.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(result.retryAfterSeconds));
      if (result.status === 401) res.setHeader('www-authenticate', 'Bearer realm="plexus-hub"');
      jsonError(res, result.status, ErrorCode.AuthenticationRequired, result.message);
      return undefined;
    }
    const why = result.principal.unauthenticated();
    if (why) {
      // MCP clients expect HTTP 401 with a challenge, not a session that can do nothing.
      res.setHeader('www-authenticate', 'Bearer realm="plexus-hub"');
      jsonError(res, 401, ErrorCode.AuthenticationRequired, why);
      return undefined;
    }
    return result.principal;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rejected = bound ? origins.check(req) : undefined;
    if (rejected) return jsonError(res, 403, -32000, rejected);
    const principal = authenticate(req, res);
    if (!principal) return;
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId);
      const owner = owners.get(sessionId);
      // Another credential cannot ride on someone else's session: it looks like no session at all.
      if (!transport || (owner && (owner.kind !== principal.kind || owner.tokenId !== principal.tokenId))) {
        return jsonError(res, 404, -32001, `Session not found: ${sessionId}`);
      }
      res.once('close', sessions.begin(sessionId));
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      cancelOnDisconnect(res, transport, body);
      return transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST') return jsonError(res, 400, -32000, 'Bad request: no mcp-session-id header; start with an initialize POST');
    const body = await readJson(req);
    const { StreamableHTTPServerTransport, isInitializeRequest, bridge, ToolCallGuard } = await loadSdk();
    if (!isInitializeRequest(body))
      return jsonError(res, 400, -32000, 'Bad request: no mcp-session-id header; start with an initialize POST');
    if (!(await sessions.makeRoom())) {
      res.setHeader('retry-after', '5');
      return jsonError(res, 503, -32000, `Too many MCP sessions: ${sessions.maxSessions} are open and busy (the limit); retry later`);
    }
    catalog ??= new ToolCatalog(hub);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.add(id, transport);
        owners.set(id, principal);
      },
    });
    const guarded = new ToolCallGuard(transport, catalog);
    guarded.onclose = () => {
      if (transport.sessionId) {
        sessions.delete(transport.sessionId);
        owners.delete(transport.sessionId);
      }
    };
    const server = bridge.createMcpServer(catalog, { ...options, principal });
    await server.connect(guarded);
    await transport.handleRequest(req, res, body);
    // A rejected initialize (wrong Accept header, unsupported version…) opened no
    // session: drop its server and hub change listener now, or each one leaks.
    if (transport.sessionId === undefined || sessions.get(transport.sessionId) !== transport) await server.close();
  };

  const handler = ((req: IncomingMessage, res: ServerResponse): boolean => {
    if (requestPath(req) !== path) return false;
    handle(req, res).catch((err: Error & { status?: number; code?: number }) => {
      if (!res.headersSent) jsonError(res, err.status ?? 500, err.code ?? -32603, err.message);
      else res.end();
    });
    return true;
  }) as McpHttpHandler;

  handler.bind = (host: string, port: number) => {
    origins.bind(host, port);
    bound = true;
  };
  Object.defineProperty(handler, 'sessions', { get: () => sessions.size });
  handler.close = () => sessions.closeAll();
  return handler;
}

export interface McpHttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `hub mcp --http`: a standalone MCP server at `http://host:port/mcp`. */
export function serveMcpHttp(hub: DynamicHub, options: McpHttpOptions & { host?: string; port?: number } = {}): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const handler = mcpHttpHandler(hub, options);
  const server = createServer(
    guardRequests((req, res) => {
      if (!handler(req, res)) jsonError(res, 404, -32601, `Not found: MCP is served at ${options.path ?? '/mcp'}`);
    }),
  );
  // No WebSocket here: an upgrade request gets a plain answer instead of a hanging socket.
  server.on(
    'upgrade',
    guardUpgrades((_req, socket) => refuseUpgrade(socket, 404, 'Not Found', `Not found: MCP is served at ${options.path ?? '/mcp'}`)),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8808, host, () => {
      const port = (server.address() as AddressInfo).port;
      handler.bind(host, port);
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${options.path ?? '/mcp'}`,
        port,
        close: async () => {
          await handler.close();
          server.closeAllConnections();
          await new Promise<void>((r) => server.close(() => r()));
        },
      });
    });
  });
}
