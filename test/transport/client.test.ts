import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DynamicHub,
  PlexusClient,
  PlexusConnectionError,
  PlexusError,
  type PluginSchema,
  type MethodSchema,
  type StreamItem,
} from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { builtinActivations } from '../../activations/index.js';
import { Kitchen } from '../fixtures/kitchen.js';
import { eventually } from '../support/helpers.js';

const hub = new DynamicHub().register(...builtinActivations(), new Kitchen());
let server: PlexusServer;
let client: PlexusClient;

describe('PlexusClient over a real socket', () => {
  before(async () => {
    server = await serveWebSocket(hub, { port: 0 });
    client = new PlexusClient({ url: server.url });
  });
  after(async () => {
    client.close();
    await server.close({ graceMs: 0 });
  });

  it('call streams items; collect and result unwrap data', async () => {
    const types: string[] = [];
    for await (const item of client.call('echo.echo', { message: 'a', count: 3 })) types.push(item.type);
    assert.deepEqual(types, ['data', 'data', 'data', 'done']);
    assert.deepEqual(await client.collect('echo.echo', { message: 'b', count: 2 }), [
      { message: 'b', seq: 1 },
      { message: 'b', seq: 2 },
    ]);
    assert.equal((await client.result<{ name: string }>('solar.mars.deimos.info')).name, 'Deimos');
  });

  it('error items throw PlexusError with the numeric code', async () => {
    await assert.rejects(
      client.result('echo.echo', {}),
      (e: PlexusError) => e instanceof PlexusError && e.code === -32602 && /missing required param 'message'/.test(e.message),
    );
    await assert.rejects(client.result('nowhere.x'), (e: PlexusError) => e.code === -32601);
  });

  it('schema() of root, activation and method; hash() matches the hub', async () => {
    assert.equal(((await client.schema()) as PluginSchema).hash, hub.hash());
    assert.equal(((await client.schema('solar.jupiter')) as PluginSchema).children!.length, 4);
    assert.equal(((await client.schema('echo.echo')) as MethodSchema).streaming, true);
    assert.equal(await client.hash(), hub.hash());
  });

  it('breaking the loop and aborting both cancel the server-side producer', async () => {
    for await (const item of client.call('kitchen.forever')) if (item.type === 'data' && item.content === 3) break;
    await eventually(() => Kitchen.foreverRunning === 0);
    const ac = new AbortController();
    let n = 0;
    for await (const item of client.call('kitchen.forever', {}, { signal: ac.signal })) if (item.type === 'data' && ++n === 2) ac.abort();
    assert.equal(n, 2);
    await eventually(() => Kitchen.foreverRunning === 0);
  });

  it('an abort while the subscribe request is in flight still ends the stream and cancels the producer', async () => {
    await client.hash(); // connected, so the call goes straight to its subscribe request
    const ac = new AbortController();
    const consumed = (async () => {
      let n = 0;
      for await (const _ of client.call('kitchen.forever', {}, { signal: ac.signal })) n++;
      return n;
    })();
    ac.abort(); // the subscribe request is out, its response (the subscription id) not yet read
    const ended = await Promise.race([consumed.then(() => 'ended'), new Promise((r) => setTimeout(r, 2000, 'still running'))]);
    assert.equal(ended, 'ended');
    await eventually(() => Kitchen.foreverRunning === 0);
  });

  it('info() names the root without knowing it', async () => {
    const other = await serveWebSocket(new DynamicHub('substrate').register(...builtinActivations()), { port: 0 });
    const c = new PlexusClient({ url: other.url });
    try {
      assert.equal((await c.info()).backend, 'substrate');
    } finally {
      c.close();
      await other.close({ graceMs: 0 });
    }
  });

  it('in-flight calls end clearly when the server shuts down; the next call reconnects', async () => {
    const own = await serveWebSocket(hub, { port: 0 });
    const c = new PlexusClient({ url: own.url, backoffMs: 20 });
    const stream = c.call('kitchen.forever');
    await stream.next();
    const port = own.port;
    await own.close({ graceMs: 0 });
    // The server ends the cancelled stream with an error item before it closes the connection.
    const rest: StreamItem[] = [];
    for await (const item of stream) rest.push(item);
    assert.deepEqual(
      rest.filter((i) => i.type !== 'data').map((i) => [i.type, i.type === 'error' ? i.message : undefined]),
      [['error', 'Server shutting down']],
    );
    // Restart on the same port a little later: the client's backoff bridges the gap.
    setTimeout(() => void serveWebSocket(hub, { port }).then((s) => (restarted = s)), 60);
    let restarted: PlexusServer | undefined;
    assert.equal((await c.result<{ seq: number }>('echo.once', { message: 'again' })).seq, 1);
    c.close();
    await restarted?.close({ graceMs: 0 });
  });

  it('a token given as a function is asked before each connection (a credential that changes between connections)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-client-token-'));
    const store = new TokenStore(dir);
    const make = (name: string) => store.create({ name, hub: 'plexus', grants: [parseGrant('echo.*:read')] });
    const [first, second] = [make('first'), make('second')];
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir, revocationCheckMs: 20 });
    const guarded = new DynamicHub('plexus', { policy: auth }).register(...builtinActivations());
    let own = await serveWebSocket(guarded, { port: 0 });
    const handed: string[] = [];
    const c = new PlexusClient({
      url: own.url,
      backoffMs: 20,
      token: () => {
        const t = handed.length === 0 ? first.token : second.token;
        handed.push(t);
        return t;
      },
    });
    try {
      assert.equal((await c.result<{ seq: number }>('echo.once', { message: 'a' })).seq, 1);
      // The first credential is gone; the connection drops; the next call must use the second.
      store.revoke(first.record.id);
      const port = own.port;
      await own.close({ graceMs: 0 });
      own = await serveWebSocket(guarded, { port });
      // The call in flight when the server closed may fail; the next one reconnects.
      let answer: { seq: number } | undefined;
      for (let i = 0; i < 3 && !answer; i++) answer = await c.result<{ seq: number }>('echo.once', { message: 'b' }).catch(() => undefined);
      assert.equal(answer?.seq, 1);
      assert.deepEqual(handed, [first.token, second.token]);
    } finally {
      c.close();
      await own.close({ graceMs: 0 });
      auth.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives up with a clear error when nothing listens', async () => {
    const c = new PlexusClient({ url: 'ws://127.0.0.1:1', connectAttempts: 2, backoffMs: 10 });
    await assert.rejects(
      c.result('echo.once', { message: 'x' }),
      (e: Error) => e instanceof PlexusConnectionError && /Cannot connect to ws:\/\/127.0.0.1:1/.test(e.message),
    );
  });

  it('1,000 concurrent streams on 10 connections deliver every item, in order', async () => {
    const clients = Array.from({ length: 10 }, () => new PlexusClient({ url: server.url }));
    const calls = Array.from({ length: 1000 }, async (_, i) => {
      const got = await clients[i % 10]!.collect<{ message: string; seq: number }>('echo.echo', { message: `s${i}`, count: 20 });
      assert.equal(got.length, 20);
      got.forEach((g, k) => {
        assert.equal(g.seq, k + 1);
        assert.equal(g.message, `s${i}`);
      });
    });
    await Promise.all(calls);
    clients.forEach((c) => c.close());
  });
});
