/**
 * The one place every HTTP request and WebSocket upgrade of our servers goes
 * through before its handler: a request of any shape gets an answer (400 when its
 * handler throws) and never takes the process down.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void | Promise<void>;

/** The request's path without the query. Never throws (`new URL` does on `//a:b`). */
export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function failureMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

/** Answers a failed request with 400 (or the error's `status`) unless the answer already began. */
function answerFailure(res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const status = (err as { status?: unknown }).status;
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32600, message: `Bad request: ${failureMessage(err)}` }, id: null });
  res.writeHead(typeof status === 'number' && status >= 400 && status < 600 ? status : 400, { 'content-type': 'application/json', connection: 'close' }).end(body);
}

/** Wraps a request handler: a throw or a rejection answers 400, never an uncaught exception. */
export function guardRequests(handler: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // A reset connection emits 'error' on the request/response; nothing to answer then.
    req.on('error', () => {});
    res.on('error', () => {});
    try {
      const done = handler(req, res);
      if (done) done.catch((err: unknown) => answerFailure(res, err));
    } catch (err) {
      answerFailure(res, err);
    }
  };
}

/** Writes a plain HTTP answer on an upgrade socket and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32600, message }, id: null });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Wraps an upgrade handler: a throw or a rejection answers 400 and closes the socket. */
export function guardUpgrades(handler: UpgradeHandler): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // Node removes its own error listener before 'upgrade': a reset here would otherwise be uncaught.
    socket.on('error', () => socket.destroy());
    const fail = (err: unknown) => refuseUpgrade(socket, 400, 'Bad Request', `Bad request: ${failureMessage(err)}`);
    try {
      const done = handler(req, socket, head);
      if (done) done.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}
