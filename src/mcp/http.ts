import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { openPrincipal, type Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { ErrorCode } from '../wire/errors.js';
import type { McpBridgeOptions, ToolCatalog } from './bridge.js';

/**
 * The MCP SDK takes about half a second to import; `hub serve` mounts this
 * handler on every start, so the SDK is loaded on the first MCP request instead.
 */
let sdk: Promise<{
  StreamableHTTPServerTransport: typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js').StreamableHTTPServerTransport;
  isInitializeRequest: typeof import('@modelcontextprotocol/sdk/types.js').isInitializeRequest;
  bridge: typeof import('./bridge.js');
}> | undefined;
const loadSdk = () =>
  (sdk ??= Promise.all([
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
    import('./bridge.js'),
  ]).then(([http, types, bridge]) => ({ StreamableHTTPServerTransport: http.StreamableHTTPServerTransport, isInitializeRequest: types.isInitializeRequest, bridge })));

export interface McpHttpOptions extends McpBridgeOptions {
  /** Default `/mcp`. */
  readonly path?: string;
  /**
   * DNS-rebinding protection: accepted `Host` headers. Defaults to the loopback
   * names of the bound port when bound to loopback; `false` turns the check off.
   */
  readonly allowedHosts?: readonly string[] | false;
  /** Accepted `Origin` headers (requests without one pass). Defaults to `http://<allowed host>`. */
  readonly allowedOrigins?: readonly string[];
}

export interface McpHttpHandler {
  /** Handles the request when it is for the MCP path; returns false otherwise. */
  (req: IncomingMessage, res: ServerResponse): boolean;
  /** Sets the port once known (for the default allowed hosts). */
  bind(host: string, port: number): void;
  readonly sessions: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

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

/**
 * MCP over streamable HTTP with sessions: each `initialize` opens a session (its
 * own MCP server over the shared tool catalog), later requests carry its
 * `mcp-session-id`. Host/Origin checks guard loopback servers against DNS rebinding.
 */
export function mcpHttpHandler(hub: DynamicHub, options: McpHttpOptions = {}): McpHttpHandler {
  const path = options.path ?? '/mcp';
  let catalog: ToolCatalog | undefined;
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let allowedHosts: Set<string> | undefined;
  let allowedOrigins: Set<string> | undefined;

  const hostAllowed = (req: IncomingMessage): string | undefined => {
    if (!allowedHosts) return undefined;
    const host = req.headers.host ?? '';
    if (!allowedHosts.has(host)) return `Invalid Host header: ${host || '(none)'}`;
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins!.has(origin)) return `Invalid Origin header: ${origin}`;
    return undefined;
  };

  /** Who each session belongs to: a later request must present the same token. */
  const owners = new Map<string, Principal>();

  /** The request's principal, or undefined after answering 401/429. */
  const authenticate = (req: IncomingMessage, res: ServerResponse): Principal | undefined => {
    if (!hub.auth) return openPrincipal('mcp-http', req.socket.remoteAddress);
    const result = hub.auth.authenticateRequest(req, 'mcp-http');
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
    const rejected = hostAllowed(req);
    if (rejected) return jsonError(res, 403, -32000, rejected);
    const principal = authenticate(req, res);
    if (!principal) return;
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = transports.get(sessionId);
      const owner = owners.get(sessionId);
      // Another credential cannot ride on someone else's session: it looks like no session at all.
      if (!transport || (owner && (owner.kind !== principal.kind || owner.tokenId !== principal.tokenId))) {
        return jsonError(res, 404, -32001, `Session not found: ${sessionId}`);
      }
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      return transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST') return jsonError(res, 400, -32000, 'Bad request: no mcp-session-id header; start with an initialize POST');
    const body = await readJson(req);
    const { StreamableHTTPServerTransport, isInitializeRequest, bridge } = await loadSdk();
    if (!isInitializeRequest(body)) return jsonError(res, 400, -32000, 'Bad request: no mcp-session-id header; start with an initialize POST');
    catalog ??= new bridge.ToolCatalog(hub);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        transports.set(id, transport);
        owners.set(id, principal);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) {
        transports.delete(transport.sessionId);
        owners.delete(transport.sessionId);
      }
    };
    await bridge.createMcpServer(catalog, { ...options, principal }).connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const handler = ((req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== path) return false;
    handle(req, res).catch((err: Error & { status?: number; code?: number }) => {
      if (!res.headersSent) jsonError(res, err.status ?? 500, err.code ?? -32603, err.message);
      else res.end();
    });
    return true;
  }) as McpHttpHandler;

  handler.bind = (host: string, port: number) => {
    if (options.allowedHosts === false) return;
    const hosts = options.allowedHosts ?? (LOOPBACK.has(host) ? [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`] : undefined);
    if (!hosts) return;
    allowedHosts = new Set(hosts);
    allowedOrigins = new Set(options.allowedOrigins ?? hosts.map((h) => `http://${h}`));
  };
  Object.defineProperty(handler, 'sessions', { get: () => transports.size });
  handler.close = async () => {
    await Promise.all([...transports.values()].map((t) => t.close()));
    transports.clear();
  };
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
  const server = createServer((req, res) => {
    if (!handler(req, res)) jsonError(res, 404, -32601, `Not found: MCP is served at ${options.path ?? '/mcp'}`);
  });
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
