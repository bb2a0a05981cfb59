import type { IncomingMessage, ServerResponse } from 'node:http';
import { ENROLL_PATH, type EnrollResult, type HubAuth, hubAuthOf } from '../auth/hub-auth.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';

/**
 * Enrollment over the wire: an agent without a token redeems its one-time code for
 * one, either with `_enroll` on a WebSocket (before it has authenticated) or with
 * `POST /enroll` (for MCP clients, which speak HTTP). Both answer
 * `{"token", "agent", "hub"}`; every bad code gets the same refusal (HubAuth.redeem).
 */

/** A request body larger than this is no enrollment request. */
const MAX_BODY_BYTES = 4096;
const BODY_TIMEOUT_MS = 10_000;

function codeOf(params: unknown): unknown {
  if (Array.isArray(params)) return params[0];
  if (params && typeof params === 'object') return (params as { code?: unknown }).code;
  return undefined;
}

function refusal(result: Exclude<EnrollResult, { ok: true }>): PlexusError {
  return new PlexusError(result.status === 403 ? ErrorCode.Forbidden : ErrorCode.AuthenticationRequired, result.message);
}

/** The `_enroll` answer of a WebSocket connection from `remote` (RpcSession's `enroll` option). */
export function enrollOverWebSocket(auth: HubAuth, remote: string): (params: unknown) => unknown {
  return (params) => {
    const result = auth.redeem(codeOf(params), remote, 'ws');
    if (!result.ok) throw refusal(result);
    return { token: result.token, agent: result.agent, hub: result.hub };
  };
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

function fail(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  answer(res, status, { error: { code, message } }, headers);
}

/**
 * `POST /enroll` with `{"code": "ABCD-EFGH-JKMN"}`: 200 `{"token", "agent", "hub"}`,
 * 401 for any bad code, 429 (with Retry-After) while the address is throttled, 403
 * when the hub runs open, 400 for a body that is not that JSON. An HttpHandler for
 * `serveWebSocket`'s `http` option.
 */
export function enrollHandler(hub: DynamicHub): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if ((req.url ?? '/').split('?')[0] !== ENROLL_PATH) return false;
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('Method not allowed: POST {"code": "<enrollment code>"}\n');
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      fail(res, 408, ErrorCode.InvalidRequest, 'Request timeout: the body did not arrive in time');
      req.destroy();
    }, BODY_TIMEOUT_MS);
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        clearTimeout(timer);
        res.setHeader('connection', 'close');
        fail(res, 413, ErrorCode.InvalidRequest, `Request too large: an enrollment request is at most ${MAX_BODY_BYTES} bytes`);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => clearTimeout(timer));
    req.on('end', () => {
      clearTimeout(timer);
      if (done) return;
      done = true;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return fail(res, 400, ErrorCode.ParseError, 'Invalid JSON: expected {"code": "<enrollment code>"}');
      }
      const code = codeOf(body);
      if (typeof code !== 'string' || Array.isArray(body))
        return fail(res, 400, ErrorCode.InvalidParams, 'Invalid params: expected {"code": "<enrollment code>"}');
      const auth = hubAuthOf(hub);
      const result = auth
        ? auth.redeem(code, req.socket.remoteAddress ?? 'unknown', 'http')
        : ({ ok: false, status: 403, message: 'Enrollment is not available: this hub has no authentication' } as const);
      if (result.ok) return answer(res, 200, { token: result.token, agent: result.agent, hub: result.hub });
      const e = refusal(result);
      const headers: Record<string, string> = {};
      if (result.retryAfterSeconds !== undefined) headers['retry-after'] = String(result.retryAfterSeconds);
      if (result.status === 401) headers['www-authenticate'] = 'Bearer realm="plexus-hub"';
      fail(res, result.status, e.code as number, e.message, headers);
    });
    return true;
  };
}
