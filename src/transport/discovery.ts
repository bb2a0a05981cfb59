import type { IncomingMessage, ServerResponse } from 'node:http';
import { ENROLL_PATH, hubAuthOf } from '../auth/hub-auth.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';

export const DISCOVERY_PATH = '/.well-known/plexus-hub';

/** What `GET /.well-known/plexus-hub` answers. */
export interface DiscoveryDocument {
  /** The root hub name: the prefix of its wire methods. */
  readonly name: string;
  readonly protocol: 'plexus-rpc';
  readonly jsonrpc: '2.0';
  readonly version: string;
  readonly ws: string;
  readonly mcp?: string;
  readonly auth:
    | { readonly scheme: 'none' }
    | { readonly scheme: 'bearer'; readonly header: 'Authorization'; readonly query_param: 'token' };
  /**
   * Where an agent redeems its one-time enrollment code for a token (only when auth is
   * required): `POST` JSON `{"code"}` to `http`, or `ws_method` on the WebSocket.
   */
  readonly enroll?: { readonly http: string; readonly ws_method: '_enroll' };
  /** The root hash: only when the schema is public (no auth), since it changes with every hidden method too. */
  readonly hash?: string;
}

export interface DiscoveryOptions {
  /** `ws://host:port` as clients should dial it (from the request's Host when omitted). */
  readonly wsUrl?: string;
  /** Path of the MCP endpoint on the same port, if served. */
  readonly mcpPath?: string;
}

/**
 * Serves the discovery document on the WebSocket port, so a client that knows only
 * `host:port` learns the hub's name, its endpoints and how to authenticate. It is
 * public: it says nothing a principal could not see without a token.
 */
export function discoveryHandler(hub: DynamicHub, options: DiscoveryOptions = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== DISCOVERY_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed\n');
      return true;
    }
    const host = req.headers.host ?? 'localhost';
    const ws = options.wsUrl ?? `ws://${host}`;
    const open = (hubAuthOf(hub)?.mode ?? 'open') === 'open';
    const doc: DiscoveryDocument = {
      name: hub.namespace,
      protocol: 'plexus-rpc',
      jsonrpc: '2.0',
      version: hub.version,
      ws,
      ...(options.mcpPath ? { mcp: `${ws.replace(/^ws/, 'http')}${options.mcpPath}` } : {}),
      auth: open ? { scheme: 'none' } : { scheme: 'bearer', header: 'Authorization', query_param: 'token' },
      ...(open ? { hash: hub.hash() } : { enroll: { http: `${ws.replace(/^ws/, 'http')}${ENROLL_PATH}`, ws_method: '_enroll' as const } }),
    };
    const body = `${JSON.stringify(doc, null, 2)}\n`;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
