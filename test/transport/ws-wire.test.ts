import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicHub } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { builtinActivations } from '../../activations/index.js';
import { Kitchen } from '../fixtures/kitchen.js';
import { eventually } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';

let server: PlexusServer;
const hub = new DynamicHub().register(...builtinActivations(), new Kitchen());

describe('WebSocket wire contract (raw frames)', () => {
  before(async () => {
    server = await serveWebSocket(hub, { port: 0, maxStreams: 4, maxFrameBytes: 64 * 1024 });
  });
  after(() => server.close({ graceMs: 0 }));

  it('plexus.call: numeric subscription id first, then result notifications, ending in done', async () => {
    const c = await RawClient.open(server.url);
    c.send({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'echo.echo', params: { message: 'hi', count: 2 } } });
    const res = await c.response(1);
    assert.deepEqual(Object.keys(res).sort(), ['id', 'jsonrpc', 'result']);
    assert.equal(typeof res.result, 'number');
    assert.ok(Number.isSafeInteger(res.result));
    const items = await c.itemsToEnd(res.result);
    const idxResponse = c.frames.indexOf(res);
    const idxFirstItem = c.frames.findIndex((f) => f.params?.subscription === res.result);
    assert.ok(idxResponse < idxFirstItem, 'the subscribe response comes before any item');
    const note = c.frames[idxFirstItem];
    assert.deepEqual(Object.keys(note).sort(), ['jsonrpc', 'method', 'params']);
    assert.equal(note.jsonrpc, '2.0');
    assert.equal(note.method, 'result');
    assert.deepEqual(
      items.map((i) => i.type),
      ['data', 'data', 'done'],
    );
    assert.deepEqual(items[0], {
      type: 'data',
      metadata: { provenance: ['echo'], plexus_hash: hub.hash(), timestamp: items[0].metadata.timestamp },
      content_type: 'echo.echo',
      content: { message: 'hi', seq: 1 },
    });
    assert.deepEqual(Object.keys(items[2]).sort(), ['metadata', 'type']);
    c.close();
  });

  it('positional params work for plexus.call', async () => {
    const c = await RawClient.open(server.url);
    c.send({ jsonrpc: '2.0', id: 'a', method: 'plexus.call', params: ['echo.once', { message: 'p' }] });
    const items = await c.itemsToEnd((await c.response('a')).result);
    assert.deepEqual(items[0].content, { message: 'p', seq: 1 });
    c.close();
  });

  it('plexus.schema, plexus.hash and _info are subscriptions with one data item', async () => {
    const c = await RawClient.open(server.url);
    c.send({ jsonrpc: '2.0', id: 1, method: 'plexus.schema' });
    c.send({ jsonrpc: '2.0', id: 2, method: 'plexus.hash', params: [] });
    c.send({ jsonrpc: '2.0', id: 3, method: '_info', params: {} });
    const schema = await c.itemsToEnd((await c.response(1)).result);
    assert.equal(schema[0].content.namespace, 'plexus');
    assert.equal(schema[0].content_type, 'plexus.schema');
    assert.deepEqual(schema[0].content.methods.at(-1).hash, 'auto_schema');
    const hash = await c.itemsToEnd((await c.response(2)).result);
    assert.deepEqual(hash[0].content, { event: 'hash', value: hub.hash() });
    const info = await c.itemsToEnd((await c.response(3)).result);
    assert.deepEqual(info[0].content, { backend: 'plexus', auth_capabilities: { mechanisms: [{ kind: 'anonymous' }] } });
    c.close();
  });

  it('the spec error table, as error items followed by done', async () => {
    const c = await RawClient.open(server.url);
    const cases: [string, unknown, string, string][] = [
      ['nope.x', {}, 'Activation not found: nope', '-32601'],
      ['echo.nope', {}, 'Method not found: echo.nope', '-32601'],
      ['echo', {}, 'Invalid params: Invalid method format: echo', '-32602'],
      ['echo.echo', { count: 1 }, "Invalid params: missing required param 'message'", '-32602'],
      ['kitchen.explode', {}, 'Execution error: kaboom', '-32000'],
    ];
    for (const [i, [method, params, message, code]] of cases.entries()) {
      c.send({ jsonrpc: '2.0', id: i, method: 'plexus.call', params: { method, params } });
      const items = await c.itemsToEnd((await c.response(i)).result);
      assert.deepEqual(
        items.map((x) => x.type),
        ['error', 'done'],
      );
      assert.equal(items[0].message, message);
      assert.equal(items[0].code, code);
      assert.equal(items[0].recoverable, false);
    }
    c.close();
  });

  it('JSON-RPC level errors: parse, invalid request, unknown method, bad call params, binary frames', async () => {
    const c = await RawClient.open(server.url);
    c.send('{not json');
    assert.equal((await c.response(null)).error.code, -32700);
    c.frames.length = 0;
    c.send({ id: 5, method: 'plexus.call' });
    assert.deepEqual((await c.response(5)).error, { code: -32600, message: 'Invalid request: "jsonrpc" must be "2.0"' });
    c.send({ jsonrpc: '2.0', id: 6, method: 42 });
    assert.equal((await c.response(6)).error.code, -32600);
    c.send({ jsonrpc: '2.0', id: 7, method: 'plexus.nothing' });
    assert.deepEqual((await c.response(7)).error, { code: -32601, message: 'Method not found: plexus.nothing' });
    c.send({ jsonrpc: '2.0', id: 8, method: 'plexus.call', params: { params: {} } });
    assert.equal((await c.response(8)).error.code, -32602);
    assert.match((await c.response(8)).error.message, /"method" must be a string/);
    c.send({ jsonrpc: '2.0', id: 9, method: 'plexus.call', params: { method: 'echo.once', params: [1] } });
    assert.equal((await c.response(9)).error.code, -32602);
    c.send({ jsonrpc: '2.0', id: 10, method: 'plexus.hash', params: { x: 1 } });
    assert.equal((await c.response(10)).error.code, -32602);
    c.send([{ jsonrpc: '2.0', id: 11, method: 'plexus.hash' }]);
    assert.match((await c.waitFor((f) => f.error?.message?.includes('batch'))).error.message, /batch/);
    c.frames.length = 0;
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const bin = await c.response(null);
    assert.equal(bin.error.code, -32600);
    assert.match(bin.error.message, /binary frames/);
    c.send({ jsonrpc: '2.0', method: 'plexus.hash' }); // a notification: no answer
    c.send({ jsonrpc: '2.0', id: 12, method: 'plexus.respond', params: { request_id: 'x', response_data: 1 } });
    assert.deepEqual((await c.response(12)).error, {
      code: -32602,
      message: 'Unknown request ID: x. The request may have timed out or been cancelled.',
    });
    assert.equal(c.frames.filter((f) => f.params?.subscription).length, 0);
    c.close();
  });

  it('unsubscribe cancels the producer (finally runs) and answers true, then false', async () => {
    const c = await RawClient.open(server.url);
    c.send({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'kitchen.forever' } });
    const sub = (await c.response(1)).result;
    await c.waitFor((f) => f.params?.subscription === sub);
    assert.equal(Kitchen.foreverRunning, 1);
    c.send({ jsonrpc: '2.0', id: 2, method: 'plexus.call_unsub', params: [sub] });
    assert.equal((await c.response(2)).result, true);
    await eventually(() => Kitchen.foreverRunning === 0);
    c.send({ jsonrpc: '2.0', id: 3, method: 'plexus.call_unsub', params: [sub] });
    assert.equal((await c.response(3)).result, false);
    c.close();
  });

  it('closing the socket cancels every stream of that connection', async () => {
    const c = await RawClient.open(server.url);
    for (let i = 1; i <= 3; i++) c.send({ jsonrpc: '2.0', id: i, method: 'plexus.call', params: { method: 'kitchen.forever' } });
    await c.response(3);
    await eventually(() => Kitchen.foreverRunning === 3);
    c.close();
    await eventually(() => Kitchen.foreverRunning === 0);
  });

  it('too many streams on one connection is -32005; other connections are unaffected', async () => {
    const c = await RawClient.open(server.url);
    for (let i = 1; i <= 5; i++) c.send({ jsonrpc: '2.0', id: i, method: 'plexus.call', params: { method: 'kitchen.forever' } });
    const fifth = await c.response(5);
    assert.equal(fifth.error.code, -32005);
    assert.match(fifth.error.message, /Too many streams/);
    const other = await RawClient.open(server.url);
    other.send({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'echo.once', params: { message: 'ok' } } });
    assert.equal((await other.itemsToEnd((await other.response(1)).result))[0].content.message, 'ok');
    c.close();
    other.close();
    await eventually(() => Kitchen.foreverRunning === 0);
  });

  it('an oversized frame closes that connection with 1009 and a reason; the server keeps serving', async () => {
    const c = await RawClient.open(server.url);
    const closed = new Promise<[number, string]>((r) => c.ws.once('close', (code, reason) => r([code, reason.toString()])));
    c.send({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'echo.once', params: { message: 'x'.repeat(100_000) } } });
    const [code, reason] = await closed;
    assert.equal(code, 1009);
    assert.equal(reason, 'Message too big: the limit is 65536 bytes');
    const other = await RawClient.open(server.url);
    other.send({ jsonrpc: '2.0', id: 1, method: 'plexus.hash' });
    assert.equal(typeof (await other.response(1)).result, 'number');
    other.close();
  });

  it('many calls on one connection interleave, each in order', async () => {
    const c = await RawClient.open(server.url);
    for (let i = 1; i <= 4; i++)
      c.send({ jsonrpc: '2.0', id: i, method: 'plexus.call', params: { method: 'echo.echo', params: { message: `m${i}`, count: 50 } } });
    for (let i = 1; i <= 4; i++) {
      const items = await c.itemsToEnd((await c.response(i)).result);
      assert.equal(items.length, 51);
      assert.deepEqual(
        items.slice(0, 50).map((x) => x.content.seq),
        Array.from({ length: 50 }, (_, k) => k + 1),
      );
      assert.ok(items.slice(0, 50).every((x) => x.content.message === `m${i}`));
    }
    c.close();
  });
});
