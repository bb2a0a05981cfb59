/**
 * A small REST service for the `local-rest` transport's tests, listening on
 * 127.0.0.1 (and, for redirects to "another host", a second server on 127.0.0.2).
 * Every `/api/*` route checks `Authorization: Bearer <token>`.
 *
 * | route                      | answer                                                                  |
 * |----------------------------|-------------------------------------------------------------------------|
 * | GET  /api/notes            | JSON array of the notes                                                 |
 * | GET  /api/notes/:id        | JSON `{ id, rawPath }` (the id as decoded, the path as it arrived)      |
 * | POST /api/notes            | 201 JSON `{ received }` (the parsed body)                               |
 * | GET  /api/search?...       | JSON `{ query }` (the decoded query pairs)                              |
 * | GET  /api/stream           | SSE: `count` events; the last waits for `releaseStream()`               |
 * | GET  /api/slow             | headers never come                                                      |
 * | GET  /api/stall            | headers and half a JSON body, then nothing                              |
 * | GET  /api/big              | `bytes` bytes of JSON                                                   |
 * | GET  /api/text             | text/plain                                                              |
 * | GET  /api/redirect-home    | 302 → /api/notes                                                        |
 * | GET  /api/redirect-away    | 302 → http://127.0.0.2:<other>/collect (the other server records it)   |
 * | GET  /api/echo-bearer      | 403 JSON whose message, fields and a header quote the bearer (and b64)   |
 * | GET  /api/whoami           | 200 JSON echoing the bearer                                             |
 * | GET  /api/whoami-stream    | SSE echoing the bearer in an event                                      |
 * | GET  /health               | `healthStatus` (200 by default), no bearer needed                       |
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface FakeRest {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Every request the main server got. */
  readonly requests: RecordedRequest[];
  /** Every request the "other host" (127.0.0.2) got: a refused redirect leaves it empty. */
  readonly otherHostRequests: RecordedRequest[];
  readonly otherHostUrl: string;
  /** What `/health` answers. */
  healthStatus: number;
  /** Lets `/api/stream` send its last event. */
  releaseStream(): void;
  /** Resolves when `/api/stream` has sent every event but the last (it then waits for `releaseStream`). */
  streamWaiting(): Promise<void>;
  close(): Promise<void>;
}

export interface FakeRestOptions {
  readonly token: string;
  /** Events `/api/stream` sends (default 3). */
  readonly count?: number;
  /** Bytes of `/api/big` (default 2 MiB). */
  readonly bytes?: number;
}

const NOTES = [
  { id: 'n1', title: 'first', tags: ['a'] },
  { id: 'n2', title: 'second', tags: [] },
];

async function bodyOf(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

export async function startFakeRest(options: FakeRestOptions): Promise<FakeRest> {
  const { token } = options;
  const count = options.count ?? 3;
  const requests: RecordedRequest[] = [];
  const otherHostRequests: RecordedRequest[] = [];
  const held = new Set<ServerResponse>();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let markWaiting!: () => void;
  const waiting = new Promise<void>((r) => (markWaiting = r));

  const other = createServer(async (req, res) => {
    otherHostRequests.push({ method: req.method!, url: req.url!, headers: req.headers, body: await bodyOf(req) });
    json(res, 200, { stolen: req.headers.authorization ?? null });
  });
  const otherPort = await listen(other, '127.0.0.2');
  const otherHostUrl = `http://127.0.0.2:${otherPort}`;

  const fake: FakeRest = {
    url: '',
    port: 0,
    requests,
    otherHostRequests,
    otherHostUrl,
    healthStatus: 200,
    releaseStream: () => release(),
    streamWaiting: () => waiting,
    close: async () => {
      release();
      for (const res of held) res.destroy();
      server.closeAllConnections();
      other.closeAllConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => other.close(r))]);
    },
  };

  const server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    const url = new URL(req.url!, 'http://fake');
    const path = url.pathname;
    if (path === '/health') return json(res, fake.healthStatus, { ok: fake.healthStatus === 200 });
    if (path.startsWith('/api/') && req.headers.authorization !== `Bearer ${token}`)
      return json(res, 401, { error: 'missing or wrong bearer token' });
    const sse = () => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    switch (true) {
      case req.method === 'GET' && path === '/api/notes':
        return json(res, 200, NOTES);
      case req.method === 'POST' && path === '/api/notes':
        return json(res, 201, { received: JSON.parse(body || 'null') });
      case req.method === 'GET' && path.startsWith('/api/notes/'): {
        const raw = path.slice('/api/notes/'.length);
        return json(res, 200, { id: decodeURIComponent(raw), rawPath: req.url });
      }
      case path === '/api/search':
        return json(res, 200, { query: Object.fromEntries(url.searchParams) });
      case path === '/api/stream': {
        sse();
        for (let i = 1; i < count; i++) res.write(`event: note\nid: ${i}\ndata: ${JSON.stringify({ n: i })}\n\n`);
        markWaiting();
        await released;
        res.end(`data: last one, not JSON\n\n`);
        return;
      }
      case path === '/api/slow':
        held.add(res);
        return; // no headers, ever (until close)
      case path === '/api/stall':
        held.add(res);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial": ');
        return;
      case path === '/api/big':
        return json(res, 200, { blob: 'x'.repeat(options.bytes ?? 2 * 1024 * 1024) });
      case path === '/api/text':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('plain words');
      case path === '/api/redirect-home':
        res.writeHead(302, { location: '/api/notes' });
        return res.end();
      case path === '/api/redirect-away':
        res.writeHead(302, { location: `${otherHostUrl}/collect?from=fake` });
        return res.end();
      case path === '/api/echo-bearer':
        return json(
          res,
          403,
          {
            error: `token Bearer ${token} may not do this`,
            got: req.headers.authorization,
            b64: Buffer.from(token).toString('base64'),
            nested: { [token]: [token, `${token}${token}`] },
          },
          { 'x-seen-token': token },
        );
      case path === '/api/whoami':
        return json(res, 200, { you: req.headers.authorization, token });
      case path === '/api/whoami-stream':
        sse();
        return res.end(`data: ${JSON.stringify({ token })}\n\ndata: plain ${token}\n\n`);
      default:
        return json(res, 404, { error: `no route ${req.method} ${path}` });
    }
  });
  const port = await listen(server, '127.0.0.1');
  Object.assign(fake, { url: `http://127.0.0.1:${port}`, port });
  return fake;
}
