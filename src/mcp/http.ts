import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { hubAuthOf } from '../auth/hub-auth.js';
import { openPrincipal, type Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import {
  capConnections,
  guardRequests,
  guardUpgrades,
  OriginGuard,
  refuseUpgrade,
  requestPath,
  type OriginPolicy,
} from '../transport/http-guard.js';
import { enrollHandler } from '../transport/enroll.js';
import { ErrorCode } from '../wire/errors.js';
import type { McpBridgeOptions } from './bridge.js';
import { DEFAULT_GRACE_MS } from '../transport/types.js';
import { DEFAULT_MAX_CONNECTIONS } from '../transport/websocket-server.js';
import { DEFAULT_MCP_BODY_TIMEOUT_MS, DEFAULT_MCP_MAX_BODIES, DEFAULT_MCP_MAX_BODY_BYTES } from './limits.js';
import { ToolCatalog } from './tool-catalog.js';
import { SessionTable } from './sessions.js';
import { ToolCallBudget, type ToolCallLimits } from './tool-calls.js';

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
export interface McpHttpOptions extends McpBridgeOptions, OriginPolicy, ToolCallLimits {
  /** Default `/mcp`. */
  readonly path?: string;
  /** Live sessions (default 1,000); at the cap a new one evicts the session idle the longest, or gets 503. */
  readonly maxSessions?: number;
  /** A session with no request in flight for this long is closed (default 30 min). */
  readonly sessionIdleMs?: number;
  /** Request bodies being received at once (default 16); past it a POST gets 503 before its body is read. */
  readonly maxBodies?: number;
  /** Time to receive a whole request body (default 10 s); past it the request gets 408 and its connection is closed. */
  readonly bodyTimeoutMs?: number;
}

/** How `close()` treats running tool calls. */
export interface McpCloseOptions {
  /** Running tool calls get this long to finish (default 2 s, as WebSocket streams); then each answers an error result. */
  readonly graceMs?: number;
}

export interface McpHttpHandler {
  /** Handles the request when it is for the MCP path; returns false otherwise. */
  (req: IncomingMessage, res: ServerResponse): boolean;
  /** Sets the port once known (for the default allowed hosts). */
  bind(host: string, port: number): void;
  readonly sessions: number;
  /** Tool calls running across all sessions. */
  readonly toolCalls: number;
  /** Refuses new requests, lets running tool calls finish within the grace period, answers the rest with an error result, then closes every session. */
  close(options?: McpCloseOptions): Promise<void>;
}

function jsonError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** A failed body: answered with `status`, and the connection closed (its unread bytes are not wanted). */
function bodyError(message: string, status: number, code = -32600): Error {
  return Object.assign(new Error(message), { status, code, closeConnection: true });
}

/**
 * Reads a JSON body within `limit` bytes and `timeoutMs`. A client that trickles
 * its body would otherwise hold the bytes it sent for Node's 300 s request timeout.
 */
function readJson(req: IncomingMessage, limit: number, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      chunks.length = 0;
      // Stop reading: the answer closes the connection, so its unread bytes go nowhere.
      req.pause();
      reject(err);
    };
    const timer = setTimeout(
      () => stop(bodyError(`Request timeout: the body was not received within ${timeoutMs / 1000} s (the limit)`, 408)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(bodyError(`Request body is larger than ${limit} bytes (the limit)`, 413));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(Object.assign(new Error('Parse error: the body is not JSON'), { status: 400, code: -32700 }));
      }
    });
    req.once('error', (err) => stop(err));
    req.once('close', () => stop(new Error('The client closed the connection')));
  });
}

/** The headers a browser page of an allowed origin needs to speak MCP (see docs/mcp.md). */
const CORS_ALLOW_HEADERS = 'content-type, mcp-session-id, mcp-protocol-version, authorization, last-event-id';
const CORS_ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';

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
  let closing = false;
  const toolCalls = new ToolCallBudget(options);
  const maxBodyBytes = DEFAULT_MCP_MAX_BODY_BYTES;
  const maxBodies = options.maxBodies ?? DEFAULT_MCP_MAX_BODIES;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_MCP_BODY_TIMEOUT_MS;
  let bodies = 0;
  /** POSTs whose answer is still being written: shutdown waits for them before closing sessions. */
  const answering = new Set<ServerResponse>();

  /** Reads a POST body within the count, size and time caps. */
  const body = async (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    if (bodies >= maxBodies) {
      res.setHeader('retry-after', '1');
      throw bodyError(`Too many request bodies: the server is receiving ${maxBodies} at once (the limit); retry later`, 503, -32000);
    }
    bodies++;
    answering.add(res);
    res.once('close', () => answering.delete(res));
    try {
      return await readJson(req, maxBodyBytes, bodyTimeoutMs);
    } finally {
      bodies--;
    }
  };

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
    // CORS for a browser page of an allowed origin (checked just above): without it
    // `--allow-origin` opened the WebSocket but not /mcp. The preflight carries no
    // credentials, so it is answered before authentication.
    const origin = req.headers.origin;
    if (bound && origin !== undefined) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', 'Mcp-Session-Id');
    }
    if (req.method === 'OPTIONS') {
      res
        .writeHead(204, {
          'access-control-allow-methods': CORS_ALLOW_METHODS,
          'access-control-allow-headers': CORS_ALLOW_HEADERS,
          'access-control-max-age': '600',
        })
        .end();
      return;
    }
    if (closing) {
      res.setHeader('connection', 'close');
      return jsonError(res, 503, -32000, 'Server shutting down');
    }
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
      const message = req.method === 'POST' ? await body(req, res) : undefined;
      cancelOnDisconnect(res, transport, message);
      return transport.handleRequest(req, res, message);
    }
    if (req.method !== 'POST') return jsonError(res, 400, -32000, 'Bad request: no mcp-session-id header; start with an initialize POST');
    const message = await body(req, res);
    const { StreamableHTTPServerTransport, isInitializeRequest, bridge, ToolCallGuard } = await loadSdk();
    if (!isInitializeRequest(message))
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
    const server = bridge.createMcpServer(catalog, { ...options, principal, toolCalls });
    await server.connect(guarded);
    await transport.handleRequest(req, res, message);
    // A rejected initialize (wrong Accept header, unsupported version…) opened no
    // session: drop its server and hub change listener now, or each one leaks.
    if (transport.sessionId === undefined || sessions.get(transport.sessionId) !== transport) await server.close();
  };

  const handler = ((req: IncomingMessage, res: ServerResponse): boolean => {
    if (requestPath(req) !== path) return false;
    handle(req, res).catch((err: Error & { status?: number; code?: number; closeConnection?: boolean }) => {
      if (err.closeConnection) res.setHeader('connection', 'close');
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
  Object.defineProperty(handler, 'toolCalls', { get: () => toolCalls.running });
  handler.close = async ({ graceMs = DEFAULT_GRACE_MS }: McpCloseOptions = {}) => {
    closing = true;
    await toolCalls.shutdown(graceMs);
    // The cut calls' error results are being written: let them leave (bounded) before the sessions close.
    await Promise.race([
      Promise.all([...answering].map((res) => (res.writableEnded ? undefined : new Promise((r) => res.once('close', r))))),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    await sessions.closeAll();
  };
  return handler;
}

export interface McpHttpServer {
  readonly url: string;
  readonly port: number;
  /** As the handler's `close`: running tool calls get the grace period, then an error result. */
  close(options?: McpCloseOptions): Promise<void>;
}

/** `hub mcp --http`: a standalone MCP server at `http://host:port/mcp` (and `POST /enroll`, enrollment codes). */
export function serveMcpHttp(
  hub: DynamicHub,
  options: McpHttpOptions & { host?: string; port?: number; maxConnections?: number } = {},
): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const handler = mcpHttpHandler(hub, options);
  // An MCP client that holds an enrollment code redeems it on the same port.
  const enroll = enrollHandler(hub);
  const server = createServer(
    guardRequests((req, res) => {
      if (!handler(req, res) && !enroll(req, res)) jsonError(res, 404, -32601, `Not found: MCP is served at ${options.path ?? '/mcp'}`);
    }),
  );
  capConnections(server, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
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
        close: async (closeOptions?: McpCloseOptions) => {
          // Stop accepting first; the connections of running calls stay until their answers are written.
          const stopped = new Promise<void>((r) => server.close(() => r()));
          await handler.close(closeOptions);
          server.closeAllConnections();
          await stopped;
        },
      });
    });
  });
}
