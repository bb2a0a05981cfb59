import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { hubAuthOf } from '../auth/hub-auth.js';
import { openPrincipal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { capConnections, guardRequests, guardUpgrades, OriginGuard, refuseUpgrade, type OriginPolicy } from './http-guard.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_PING_INTERVAL_MS, Liveness } from './liveness.js';
import { ErrorCode } from '../wire/errors.js';
import { WIRE_FORMS, type WireForm } from '../wire/items.js';
import { ByteBudget, ConnectionBytes } from './byte-budget.js';
import { enrollOverWebSocket } from './enroll.js';
import { RpcSession } from './rpc-session.js';
import { StreamBudget } from './stream-budget.js';
import { DEFAULT_GRACE_MS, DEFAULT_MAX_FRAME_BYTES, type CloseOptions, type SessionLimits } from './types.js';
import { framesLimitedTo, WebSocketSink } from './websocket-link.js';

export type { CloseOptions } from './types.js';

export interface WebSocketServeOptions extends SessionLimits, OriginPolicy {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 4444; 0 picks a free port. */
  readonly port?: number;
  /** Largest accepted frame in bytes (default 1 MiB); a bigger one closes the connection with 1009. */
  readonly maxFrameBytes?: number;
  /** Bytes queued for a connection above which its producers pause and it is not read (default 1 MiB). */
  readonly highWaterMark?: number;
  /**
   * Bytes one connection may hold: params of its open streams, its queued output, its
   * partial frame (default 64 MiB). A stream past it is refused with -32005; queued
   * output past it drops the connection.
   */
  readonly maxConnectionBytes?: number;
  /**
   * The process's byte budget, shared by every connection (and by anything else given
   * the same instance, e.g. MCP tool calls). Default: a new one of `maxTotalBytes`.
   */
  readonly byteBudget?: ByteBudget;
  /** Size of the byte budget made when `byteBudget` is not given (default 512 MiB). */
  readonly maxTotalBytes?: number;
  /**
   * Plain HTTP requests (not WebSocket upgrades) go here first, e.g. the MCP
   * endpoint at `/mcp`. Return true when handled.
   */
  readonly http?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Open connections, HTTP and WebSocket (default 10,000); past it a new one gets 503. */
  readonly maxConnections?: number;
  /** Open streams across all connections (default 100,000); past it a subscribe gets -32005. */
  readonly maxTotalStreams?: number;
  /** A connection with no open stream and no message (or ping) from its peer for this long is closed (default 10 min). */
  readonly idleTimeoutMs?: number;
  /** The server pings every connection this often; one that has not answered the previous ping is dropped (default 30 s). */
  readonly pingIntervalMs?: number;
  /**
   * Asked about the first text frame of each connection. Returning a function hands
   * the WebSocket (and the TCP socket under it) over to it: this server's session
   * for it is closed and the frame and everything after it are the new owner's. The
   * reverse mount uses it: a child hub's `_join` turns the connection around
   * (federation/join.ts). `principal` is the connection's, from its upgrade: who asks
   * to be handed the connection.
   */
  readonly takeOver?: (
    firstFrame: string,
    req: IncomingMessage,
    principal: unknown,
  ) => ((ws: WebSocket, socket: Socket) => void) | undefined;
}

export const DEFAULT_MAX_CONNECTIONS = 10_000;
export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_PING_INTERVAL_MS } from './liveness.js';

export interface PlexusServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly httpServer: Server;
  /** Open WebSocket connections. */
  readonly connections: number;
  /** Stops accepting, lets streams finish within the grace period, cancels the rest and closes every socket with a reason. */
  close(options?: CloseOptions): Promise<void>;
}

export const DEFAULT_PORT = 4444;
export const DEFAULT_HOST = '127.0.0.1';
const MiB = 1024 * 1024;

/** Answers a refused upgrade with a plain HTTP response: 401 (with the Bearer challenge) or 429. */
function refuseUnauthenticated(socket: Socket, refusal: { status: 401 | 429; message: string; retryAfterSeconds?: number }): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: ErrorCode.AuthenticationRequired, message: refusal.message }, id: null });
  const head = [
    refusal.status === 401 ? 'HTTP/1.1 401 Unauthorized' : 'HTTP/1.1 429 Too Many Requests',
    ...(refusal.status === 401 ? ['WWW-Authenticate: Bearer realm="plexus-hub"'] : []),
    ...(refusal.retryAfterSeconds !== undefined ? [`Retry-After: ${refusal.retryAfterSeconds}`] : []),
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Serves a hub over WebSocket with the Plexus RPC JSON-RPC protocol. */
export function serveWebSocket(hub: DynamicHub, options: WebSocketServeOptions = {}): Promise<PlexusServer> {
  const host = options.host ?? DEFAULT_HOST;
  const highWaterMark = options.highWaterMark ?? MiB;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  // ws reads 0 as "no limit", stdio would read it as "nothing fits": neither is wanted.
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1)
    return Promise.reject(new RangeError(`maxFrameBytes must be a positive integer, not ${maxFrameBytes}`));
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    perMessageDeflate: false,
    WebSocket: framesLimitedTo(maxFrameBytes),
  });
  const sessions = new Map<WebSocket, RpcSession>();
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  // Given by the caller when others share it (the MCP endpoint's tool calls take streams of it too).
  const streamBudget = options.streamBudget ?? new StreamBudget(options.maxTotalStreams);
  let byteBudget: ByteBudget;
  try {
    byteBudget = options.byteBudget ?? new ByteBudget(options.maxTotalBytes);
    new ConnectionBytes(byteBudget, options.maxConnectionBytes); // checks the limit once, before listening
  } catch (err) {
    return Promise.reject(err);
  }
  const origins = new OriginGuard(options);
  const liveness = new Liveness(
    options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    sessions,
  );
  let closing = false;

  const httpServer = createServer(
    guardRequests((req, res) => {
      if (options.http?.(req, res)) return;
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('This is a Plexus RPC server: connect with a WebSocket (JSON-RPC 2.0).\n');
    }, origins),
  );
  // Every TCP connection counts, not only WebSockets: plain HTTP ones hold request bodies.
  capConnections(httpServer, maxConnections);

  httpServer.on(
    'upgrade',
    guardUpgrades((req, duplex, head) => {
      const socket = duplex as Socket;
      if (closing) return refuseUpgrade(socket, 503, 'Service Unavailable', 'Server is shutting down');
      if (sessions.size >= maxConnections) {
        return refuseUpgrade(socket, 503, 'Service Unavailable', `Too many connections: the server has ${maxConnections} open (the limit)`);
      }
      const hubAuth = hubAuthOf(hub);
      const auth = hubAuth
        ? hubAuth.authenticateRequest(req, 'ws')
        : { ok: true as const, principal: openPrincipal('ws', req.socket.remoteAddress) };
      if (!auth.ok) return refuseUnauthenticated(socket, auth);
      const principal = auth.principal;
      const asked = wireOf(req.url);
      if (asked === null) {
        return refuseUpgrade(socket, 400, 'Bad Request', `Invalid wire form in the URL: ?wire= takes ${WIRE_FORMS.join(' or ')}`);
      }
      const wire = asked ?? options.wire;
      wss.handleUpgrade(req, socket, head, (ws) => {
        socket.setNoDelay(true);
        const bytes = new ConnectionBytes(byteBudget, options.maxConnectionBytes);
        const sink = new WebSocketSink(ws, socket, highWaterMark, bytes);
        const enroll = hubAuth ? enrollOverWebSocket(hubAuth, req.socket.remoteAddress ?? 'unknown') : undefined;
        const session = new RpcSession(hub, sink, {
          ...options,
          principal,
          streamBudget,
          bytes,
          ...(wire ? { wire } : {}),
          ...(enroll ? { enroll } : {}),
        });
        sessions.set(ws, session);
        liveness.watch(ws);
        let firstFrame = options.takeOver !== undefined;
        const onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
          liveness.seen(ws);
          if (firstFrame) {
            firstFrame = false;
            const adopt = isBinary ? undefined : options.takeOver!(data.toString(), req, principal);
            if (adopt) {
              // The new owner runs the connection: this server's session and liveness let go of it.
              ws.off('message', onMessage);
              liveness.forget(ws);
              sink.closed(); // stops charging and pausing a socket that is no longer ours
              session.close();
              sessions.delete(ws);
              return adopt(ws, socket);
            }
          }
          if (isBinary) session.rejectBinary();
          else session.receive(data.toString());
        };
        ws.on('message', onMessage);
        ws.on('error', () => {}); // protocol errors (oversize, bad frames) close the socket; 'close' cleans up
        ws.on('close', () => {
          liveness.forget(ws);
          sink.closed();
          session.close();
          sessions.delete(ws);
        });
      });
    }, origins),
  );

  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? DEFAULT_PORT, host, () => {
      httpServer.off('error', reject);
      const port = (httpServer.address() as AddressInfo).port;
      origins.bind(host, port);
      resolve({
        url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}`,
        host,
        port,
        httpServer,
        get connections() {
          return sessions.size;
        },
        async close({ graceMs = DEFAULT_GRACE_MS, reason = 'Server shutting down' }: CloseOptions = {}) {
          if (closing) return;
          closing = true;
          liveness.stop();
          const stopped = new Promise<void>((r) => httpServer.close(() => r()));
          await Promise.all([...sessions.values()].map((s) => s.shutdown(graceMs)));
          const gone = [...sessions.keys()].map((ws) => new Promise((r) => ws.once('close', r)));
          for (const [ws, s] of sessions) {
            s.close(reason);
            ws.close(1001, reason);
          }
          const forced = setTimeout(() => {
            for (const ws of sessions.keys()) ws.terminate();
          }, 1000);
          await Promise.all(gone);
          clearTimeout(forced);
          httpServer.closeAllConnections();
          await stopped;
        },
      });
    });
  });
}

/** The wire form a connection asks for with `?wire=` on its URL: undefined when none, null when unknown. */
function wireOf(url: string | undefined): WireForm | undefined | null {
  const q = url?.indexOf('?') ?? -1;
  if (q < 0) return undefined;
  const asked = new URLSearchParams(url!.slice(q + 1)).get('wire');
  if (asked === null) return undefined;
  return (WIRE_FORMS as readonly string[]).includes(asked) ? (asked as WireForm) : null;
}
