// Issue #27, the `local-rest` transport, called directly (dispatch / health / checkRoute)
// against a real HTTP service the test starts (test/support/fake-rest.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { TransportOptions } from '../../activations/extension/types.js';
import { approvalSurface, checkRoute, dispatch, health, localRestTransport } from '../../activations/extension/transports/local-rest.js';
import { dispatched } from '../support/transport-dispatch.js';
import { startFakeRest, type FakeRest } from '../support/fake-rest.js';

const TOKEN = `tok_${randomBytes(16).toString('hex')}`;
const manifest = { secrets: [{ name: 'notes_token' }] };
const secrets = { get: (name: string) => (name === 'notes_token' ? TOKEN : undefined) };
const options = (extra: Partial<TransportOptions & { signal: AbortSignal }> = {}): TransportOptions & { signal: AbortSignal } => ({
  secrets,
  approvedHosts: [],
  signal: new AbortController().signal,
  ...extra,
});

const run = (route: unknown, params: Record<string, unknown> = {}, opts = options()) => dispatched(dispatch, route, params, opts);

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('local-rest transport', () => {
  let fake: FakeRest;
  const route = (over: Record<string, unknown> = {}) => ({
    baseUrl: `${fake.url}/api`,
    method: 'GET',
    pathTemplate: '/notes',
    secret: { name: 'notes_token', attach: 'bearer' },
    ...over,
  });
  before(async () => {
    fake = await startFakeRest({ token: TOKEN });
  });
  after(() => fake.close());

  it('keeps the ExtensionTransport shape', () => {
    assert.deepEqual(Object.keys(localRestTransport).sort(), ['approvalSurface', 'checkRoute', 'dispatch', 'health']);
  });

  it('checkRoute accepts a good route and says why a bad one is refused', () => {
    assert.deepEqual(checkRoute(route(), manifest).reasons, []);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ baseUrl: 'ftp://127.0.0.1/' }, /must be http: or https:/],
      [{ baseUrl: 'http://user:pw@127.0.0.1/' }, /must not carry credentials/],
      [{ baseUrl: 'http://10.1.2.3/' }, /host '10\.1\.2\.3' is not a loopback address: list it in route\.allowedHosts/],
      [{ baseUrl: 'http://0.0.0.0:8080/' }, /'0\.0\.0\.0' is the unspecified address/],
      [{ baseUrl: 'not a url' }, /is not a URL/],
      [{ method: 'FETCH' }, /route\.method must be one of GET, HEAD, POST/],
      [{ pathTemplate: 'notes' }, /must be a string starting with "\/"/],
      [{ body: { a: 1 } }, /a GET request has no body/],
      [{ secret: { name: 'other', attach: 'bearer' } }, /'other' is not declared in the manifest's secrets/],
      [{ secret: { name: 'notes_token', attach: { header: 'Host' } } }, /'Host' is a header the transport sets itself/],
      [{ secret: { name: 'notes_token', attach: 'cookie' } }, /must be 'bearer' or \{ header/],
      [{ timeoutMs: 0 }, /timeoutMs must be an integer from 1/],
      [{ extra: true }, /route\.extra is not a local-rest route field/],
    ];
    for (const [over, reason] of cases) {
      const { reasons } = checkRoute(route(over), manifest);
      assert.ok(
        reasons.some((r) => reason.test(r)),
        `${JSON.stringify(over)}: ${reasons.join(' | ')}`,
      );
    }
    // A listed non-loopback literal is valid (it still needs the install's approval to be reached).
    assert.deepEqual(checkRoute(route({ baseUrl: 'http://10.1.2.3/', allowedHosts: ['10.1.2.3'] }), manifest).reasons, []);
  });

  it('approvalSurface names the non-loopback host the route lists, nothing for loopback', () => {
    assert.deepEqual(approvalSurface(route()), {});
    assert.deepEqual(approvalSurface(route({ baseUrl: 'http://Notes.Example.:8080/v1', allowedHosts: ['notes.example'] })), {
      hosts: ['notes.example'],
    });
    assert.deepEqual(approvalSurface(route({ baseUrl: 'http://localhost:1/', allowedHosts: ['localhost'] })), {});
  });

  it('a JSON array is one item per element, attached with the bearer from the secret store', async () => {
    const { items, error } = await run(route());
    assert.equal(error, undefined);
    assert.deepEqual(
      items.map((n) => (n as { id: string }).id),
      ['n1', 'n2'],
    );
    assert.equal(fake.requests.at(-1)!.headers.authorization, `Bearer ${TOKEN}`);
  });

  it('a secret attached as a named header', async () => {
    await run(route({ secret: { name: 'notes_token', attach: { header: 'X-Api-Key' } }, pathTemplate: '/text' }));
    assert.equal(fake.requests.at(-1)!.headers['x-api-key'], TOKEN);
    assert.equal(fake.requests.at(-1)!.headers.authorization, undefined);
  });

  it('path placeholders are URL-encoded within their segment; "..", and a missing one, are refused', async () => {
    const id = 'a/b c?d#e%f';
    const { items } = await run(route({ pathTemplate: '/notes/{id}' }), { id });
    assert.deepEqual(items, [{ id, rawPath: '/api/notes/a%2Fb%20c%3Fd%23e%25f' }]);
    const climb = await run(route({ pathTemplate: '/notes/{id}' }), { id: '..' });
    assert.equal(climb.error?.code, 'schema_validation_failed');
    assert.match(climb.error!.message, /param 'id' is '\.\.': a path segment may not climb/);
    const missing = await run(route({ pathTemplate: '/notes/{id}' }), {});
    assert.equal(missing.error?.code, 'schema_validation_failed');
    assert.match(missing.error!.message, /param 'id' is required: the route's path uses it/);
    const object = await run(route({ pathTemplate: '/notes/{id}' }), { id: { x: 1 } });
    assert.match(object.error!.message, /param 'id' is an object: a URL path takes a string, number or boolean/);
  });

  it('a query pair whose param is absent is left out', async () => {
    const { items } = await run(route({ pathTemplate: '/search?q={q}&tag={tag}&fixed=1' }), { q: 'a&b=c' });
    assert.deepEqual(items, [{ query: { q: 'a&b=c', fixed: '1' } }]);
  });

  it('the body template keeps JSON types and leaves out members whose params are absent', async () => {
    const body = { title: '{title}', count: '{n}', tags: '{tags}', meta: { by: 'by {who}', maybe: '{absent}' }, list: ['{n}', '{absent}'] };
    const { items, error } = await run(route({ method: 'post', pathTemplate: '/notes', body }), {
      title: 'x "y"',
      n: 3,
      tags: ['a', 'b'],
      who: 'me',
    });
    assert.equal(error, undefined);
    assert.deepEqual(items, [{ received: { title: 'x "y"', count: 3, tags: ['a', 'b'], meta: { by: 'by me' }, list: [3] } }]);
    assert.equal(fake.requests.at(-1)!.headers['content-type'], 'application/json');
  });

  it('an SSE answer is streamed: one item per event, each as it arrives', async () => {
    const iterator = dispatch(route({ pathTemplate: '/stream' }), {}, options())[Symbol.asyncIterator]();
    // The service holds its last event until released: these two come while the answer is still open.
    assert.deepEqual((await iterator.next()).value, { event: 'note', data: { n: 1 }, id: '1' });
    assert.deepEqual((await iterator.next()).value, { event: 'note', data: { n: 2 }, id: '2' });
    await fake.streamWaiting();
    fake.releaseStream();
    assert.deepEqual((await iterator.next()).value, { event: 'message', data: 'last one, not JSON' });
    assert.equal((await iterator.next()).done, true);
  });

  it('text that is neither JSON nor SSE is one item with its content type', async () => {
    const { items } = await run(route({ pathTemplate: '/text' }));
    assert.deepEqual(items, [{ contentType: 'text/plain', text: 'plain words' }]);
  });

  it('no answer within timeoutMs, or an answer that stalls, is a recoverable transport_error', async () => {
    const slow = await run(route({ pathTemplate: '/slow', timeoutMs: 300 }));
    assert.equal(slow.error?.code, 'transport_error');
    assert.equal(slow.error?.recoverable, true);
    assert.match(slow.error!.message, /127\.0\.0\.1:\d+ did not answer within 300 ms/);
    const stall = await run(route({ pathTemplate: '/stall', timeoutMs: 300 }));
    assert.equal(stall.error?.code, 'transport_error');
    assert.match(stall.error!.message, /stalled for more than 300 ms/);
  });

  it('an answer over maxResponseBytes is a transport_error', async () => {
    const { items, error } = await run(route({ pathTemplate: '/big', maxResponseBytes: 64 * 1024 }));
    assert.deepEqual(items, []);
    assert.equal(error?.code, 'transport_error');
    assert.match(error!.message, /exceeded 65536 bytes \(route\.maxResponseBytes\)/);
    assert.deepEqual((error!.details as { maxResponseBytes: number }).maxResponseBytes, 65536);
  });

  it('a non-2xx answer is a transport_error with the status and the body in details', async () => {
    const { error } = await run(route({ pathTemplate: '/nothing-here' }));
    assert.equal(error?.code, 'transport_error');
    assert.match(error!.message, /GET http:\/\/127\.0\.0\.1:\d+\/api\/nothing-here answered 404 Not Found: \{"error":"no route GET/);
    assert.deepEqual(error!.details, { status: 404, body: { error: 'no route GET /api/nothing-here' } });
    const unauthorised = await run(route({ secret: undefined }));
    assert.equal((unauthorised.error!.details as { status: number }).status, 401);
  });

  it('a redirect within the origin is followed; one to another host is refused and never reached', async () => {
    const home = await run(route({ pathTemplate: '/redirect-home' }));
    assert.equal(home.error, undefined);
    assert.equal(home.items.length, 2);
    const away = await run(route({ pathTemplate: '/redirect-away' }));
    assert.equal(away.error?.code, 'transport_error');
    assert.match(
      away.error!.message,
      /redirected to another host \(http:\/\/127\.0\.0\.2:\d+\): the transport follows redirects only within/,
    );
    assert.equal((away.error!.details as { refused: string }).refused, 'cross_host_redirect');
    assert.deepEqual(fake.otherHostRequests, []);
  });

  it('a secret not in the store is source_unavailable naming how to set it; so is a host that is not answering', async () => {
    const noSecret = await run(route(), {}, options({ secrets: { get: () => undefined } }));
    assert.equal(noSecret.error?.code, 'source_unavailable');
    assert.match(noSecret.error!.message, /secret 'notes_token' is not set: the owner sets it with `hub secret set notes_token`/);
    const injected = `${TOKEN}\r\nX-Injected: 1`;
    const crlf = await run(route(), {}, options({ secrets: { get: () => injected } }));
    assert.equal(crlf.error?.code, 'source_unavailable');
    assert.match(crlf.error!.message, /secret 'notes_token' holds a line break or NUL: it cannot travel in an HTTP header/);
    assert.ok(!JSON.stringify([crlf.error!.message, crlf.error!.details]).includes(TOKEN));
    const port = await closedPort();
    const down = await run(route({ baseUrl: `http://127.0.0.1:${port}` }));
    assert.equal(down.error?.code, 'source_unavailable');
    assert.match(down.error!.message, new RegExp(`host 127\\.0\\.0\\.1:${port} is not answering \\(ECONNREFUSED\\)`));
  });

  it('aborting the call ends it at once, without an error, and closes the connection', async () => {
    const controller = new AbortController();
    const before = fake.requests.length;
    const pending = run(route({ pathTemplate: '/slow' }), {}, options({ signal: controller.signal }));
    while (fake.requests.length === before) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const { items, error } = await pending;
    assert.deepEqual([items, error], [[], undefined]);
  });

  it('health: a TCP connect without a health route, the health route when declared, unavailable naming the host', async () => {
    assert.deepEqual(await health(route(), options()), { status: 'ok', detail: `host 127.0.0.1:${fake.port} accepts connections` });
    const port = await closedPort();
    const down = await health(route({ baseUrl: `http://127.0.0.1:${port}` }), options());
    assert.equal(down.status, 'unavailable');
    assert.match(down.detail, new RegExp(`127\\.0\\.0\\.1:${port}`));
    const withRoute = route({ baseUrl: fake.url, healthPath: '/health' });
    assert.deepEqual(await health(withRoute, options()), { status: 'ok', detail: `GET /health on 127.0.0.1:${fake.port} answered 200` });
    fake.healthStatus = 503;
    try {
      assert.deepEqual(await health(withRoute, options()), {
        status: 'degraded',
        detail: `GET /health on 127.0.0.1:${fake.port} answered 503`,
      });
    } finally {
      fake.healthStatus = 200;
    }
    const noSecret = await health(route(), options({ secrets: { get: () => undefined } }));
    assert.equal(noSecret.status, 'unavailable');
    assert.match(noSecret.detail, /secret 'notes_token' is not set/);
  });
});
