import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  DynamicHub,
  ErrorCode,
  PlexusError,
  RemoteHub,
  defineActivation,
  serveWebSocket,
  type CallContext,
  type PlexusServer,
  type PluginSchema,
  type WebSocketServeOptions,
} from '../../src/index.js';
import { ToolCatalog } from '../../src/mcp/tool-catalog.js';
import { backoffDelay } from '../../src/client/backoff.js';
import { acceptJoins, joinParent, mountRemote } from '../../src/index.js';
import { connect, createServer, type Socket } from 'node:net';
import { collect, contents, errorOf, eventually, tick } from '../support/helpers.js';
import WebSocket, { WebSocketServer } from 'ws';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { parseGrant } from '../../src/auth/grants.js';

/**
 * Hubs in this process, the WebSocket between them real (loopback): what the
 * mounting hub's API shows (onChange, hash, guard) when the remote changes.
 */
const servers: PlexusServer[] = [];
after(async () => {
  for (const s of servers) await s.close({ graceMs: 0 });
});

async function remoteHub(...activations: object[]): Promise<{ hub: DynamicHub; url: string }> {
  return remoteHubWith({}, ...activations);
}

async function remoteHubWith(options: WebSocketServeOptions, ...activations: object[]): Promise<{ hub: DynamicHub; url: string }> {
  const hub = new DynamicHub('remote').register(...activations);
  await hub.ready();
  const server = await serveWebSocket(hub, { port: 0, ...options });
  servers.push(server);
  return { hub, url: server.url };
}

let gets = 0;
const stock = defineActivation({
  namespace: 'stock',
  methods: {
    get: {
      params: { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] },
      handler: ({ sku }) => (gets++, { sku }),
    },
  },
});

describe('federation in process', () => {
  it("the local root hash follows the remote's: onChange fires, the schema and the MCP tool list show the new method", async () => {
    const b = await remoteHub(stock);
    const a = new DynamicHub('plexus');
    const mount = mountRemote(a, 'b', b.url, { watchMs: 25 });
    await a.ready();
    assert.ok(mount instanceof RemoteHub);
    assert.equal(mount.remoteHash, b.hub.hash());
    const catalog = new ToolCatalog(a);
    assert.ok((await catalog.entries()).has('b.stock.get'));
    const hashBefore = a.hash();
    let changes = 0;
    a.onChange(() => changes++);

    b.hub.register(defineActivation({ namespace: 'audit', methods: { log: { handler: () => 'logged' } } }));
    await b.hub.ready();
    await eventually(() => changes > 0, 5000);
    await a.ready();
    assert.notEqual(a.hash(), hashBefore);
    assert.equal(mount.remoteHash, b.hub.hash());
    const schema = (await a.schema('b')) as PluginSchema;
    assert.equal(schema.hash, b.hub.hash());
    assert.deepEqual(
      schema.children?.map((c) => c.namespace),
      ['audit', 'stock'],
    );
    assert.ok((await catalog.entries()).has('b.audit.log'));
    assert.deepEqual(contents(await collect(a.call('b.audit.log'))), ['logged']);

    // Back to the old tree: the old hash again (hashes are content, not history).
    b.hub.unregister('audit');
    await b.hub.ready();
    await eventually(() => mount.remoteHash === b.hub.hash(), 5000);
    await a.ready();
    assert.equal(a.hash(), hashBefore);
    assert.equal(a.unregister('b'), true);
    assert.equal(a.children().length, 0);
  });

  it('grants are checked locally on the mounted path: the local guard refuses before anything reaches the remote', async () => {
    const b = await remoteHub(stock);
    const seen: string[] = [];
    const a = new DynamicHub('plexus', {
      guard: (check) => {
        seen.push(`${check.at.join('.') || '(root)'}${check.final ? ' final' : ''}`);
        if (check.final && check.principal === 'mallory' && check.path.startsWith('b.stock.'))
          throw new PlexusError(ErrorCode.Forbidden, `Forbidden: ${check.path}`);
      },
    });
    mountRemote(a, 'b', b.url, { watchMs: 0 });
    await a.ready();
    const before = gets;
    const refused = await collect(a.call('b.stock.get', { sku: 'x' }, { principal: 'mallory' }));
    assert.deepEqual([errorOf(refused)?.code, errorOf(refused)?.message], ['-32003', 'Forbidden: b.stock.get']);
    assert.equal(gets, before, 'the remote method did not run');
    // Every hop of the full path is checked, down to the method the remote described.
    assert.deepEqual(seen, ['(root)', 'b', 'b.stock final']);
    seen.length = 0;
    const unknown = await collect(a.call('b.stock.nothing', {}, { principal: 'alice' }));
    assert.deepEqual([errorOf(unknown)?.code, errorOf(unknown)?.message], ['-32601', 'Method not found: b.stock.nothing']);
    const allowed = await collect(a.call('b.stock.get', { sku: 'x' }, { principal: 'alice' }));
    assert.deepEqual(contents(allowed), [{ sku: 'x' }]);
    assert.equal(gets, before + 1);
    a.unregister('b');
  });

  it('a remote that goes silent (no close, e.g. a network partition) is dropped by the hash watch: the call in flight ends remote_unavailable', async () => {
    // A reaches B through a relay on another port, so B's Host check (DNS-rebinding
    // protection, which wants B's own port) is off for this test.
    const b = await remoteHubWith({ allowedHosts: false }, stock);
    // A TCP relay between A and B that can stop forwarding without closing anything.
    const target = new URL(b.url);
    const pipes: Socket[] = [];
    const relay = createServer((inbound) => {
      const outbound = connect(Number(target.port), target.hostname);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => {});
      outbound.on('error', () => {});
      pipes.push(inbound, outbound);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const a = new DynamicHub();
    const mount = mountRemote(a, 'b', `ws://127.0.0.1:${(relay.address() as { port: number }).port}`, { watchMs: 50, maxBackoffMs: 100 });
    try {
      await a.ready();
      assert.deepEqual(contents(await collect(a.call('b.stock.get', { sku: 'up' }))), [{ sku: 'up' }]);
      for (const p of pipes) {
        p.unpipe();
        p.pause();
      }
      const items = await collect(a.call('b.stock.get', { sku: 'partitioned' }));
      assert.equal(errorOf(items)?.code, 'remote_unavailable');
      assert.match(errorOf(items)!.message, /did not answer for 2000 ms/);
      assert.equal(mount.connected, false);
    } finally {
      // Also on failure: a live mount or relay would keep the test process from ever exiting.
      a.unregister('b');
      for (const p of pipes) p.destroy();
      relay.close();
    }
  });

  it('a question the remote asks mid-stream reaches the local caller, and the answer (or a decline) goes back', async () => {
    const b = await remoteHub(
      defineActivation({
        namespace: 'asker',
        methods: {
          confirm: {
            bidirectional: true,
            streaming: true,
            params: { type: 'object', properties: { what: { type: 'string' } }, required: ['what'] },
            handler: async function* ({ what }, ctx: CallContext) {
              yield 'asking';
              try {
                yield { answer: await ctx.request<boolean>({ prompt: `Delete ${what}?`, schema: { type: 'boolean' }, timeoutMs: 5000 }) };
              } catch (err) {
                yield { refused: (err as PlexusError).message };
              }
            },
          },
        },
      }),
    );
    const a = new DynamicHub();
    mountRemote(a, 'b', b.url, { watchMs: 0 });
    await a.ready();
    const run = async (answer: unknown): Promise<unknown[]> => {
      const seen: unknown[] = [];
      for await (const item of a.call('b.asker.confirm', { what: 'x.txt' })) {
        if (item.type === 'request') {
          seen.push(['request', item.requestData]);
          a.respond(item.requestId, answer);
        } else if (item.type === 'data') seen.push(item.content);
        else if (item.type === 'error') seen.push(['error', item.message]);
      }
      return seen;
    };
    assert.deepEqual(await run(true), ['asking', ['request', { prompt: 'Delete x.txt?', schema: { type: 'boolean' } }], { answer: true }]);
    assert.deepEqual(await run({ type: 'cancelled' }), [
      'asking',
      ['request', { prompt: 'Delete x.txt?', schema: { type: 'boolean' } }],
      { refused: 'Request declined by the caller' },
    ]);
    assert.equal(b.hub.pendingRequests, 0);
    a.unregister('b');
  });

  it('joins in process: a hub joins a parent (serveWebSocket takeOver), a taken name is refused, unmounting ends it', async () => {
    const parent = new DynamicHub('parent').register(defineActivation({ namespace: 'taken', methods: { x: { handler: () => 1 } } }));
    const acceptor = acceptJoins(parent, { watchMs: 0, allowAnyone: true });
    const server = await serveWebSocket(parent, { port: 0, takeOver: acceptor.takeOver });
    servers.push(server);
    const child = new DynamicHub('edge').register(stock);
    const joined = joinParent(child, server.url, { name: 'edge1' });
    await joined.joined;
    await eventually(() => acceptor.mounts.get('edge1')?.connected === true, 5000);
    await parent.ready();
    assert.deepEqual(contents(await collect(parent.call('edge1.stock.get', { sku: 'in' }))), [{ sku: 'in' }]);
    // An ordinary client on the same port is unaffected by the hook.
    assert.equal(((await parent.schema('edge1')) as PluginSchema).hash, child.hash());

    const states: string[] = [];
    const taken = joinParent(new DynamicHub('other'), server.url, { name: 'taken', onState: (s, d) => states.push(`${s} ${d}`) });
    await eventually(() => states.some((s) => s.startsWith('refused')), 5000);
    await taken.close();
    assert.match(states.find((s) => s.startsWith('refused'))!, /-32003: Join refused: "taken" is already a child of parent/);
    assert.throws(() => joinParent(child, server.url, { name: 'Not-A-Segment' }), /not a valid path segment/);
    await joined.close();
    acceptor.close();
  });

  it('a joined link refuses a frame over its limit as a served connection does: 1009 with the reason', async () => {
    const parent = new DynamicHub('parent');
    const acceptor = acceptJoins(parent, { watchMs: 0, allowAnyone: true });
    const server = await serveWebSocket(parent, { port: 0, takeOver: acceptor.takeOver });
    servers.push(server);
    const states: string[] = [];
    const child = new DynamicHub('edge').register(stock);
    const joined = joinParent(child, server.url, { name: 'edge2', maxFrameBytes: 1024, onState: (s, d) => states.push(`${s} ${d}`) });
    await joined.joined;
    await eventually(() => acceptor.mounts.get('edge2')?.connected === true, 5000);
    await parent.ready();
    // The parent relays the call to the child in one frame of over 4 KiB.
    const error = errorOf(await collect(parent.call('edge2.stock.get', { sku: 'x'.repeat(4096) })));
    assert.equal(error?.code, 'remote_unavailable');
    assert.match(error!.message, /connection closed \(1009: Message too big: the limit is 1024 bytes\)/);
    // The child closed the link (it sees 1006: ws stops reading after an oversized frame) and dials again.
    await eventually(() => states.some((s) => s.startsWith('lost')), 5000);
    assert.throws(() => joinParent(child, server.url, { name: 'edge3', maxFrameBytes: 0 }), RangeError);
    await joined.close();
    acceptor.close();
  });

  it('a joined link pings its parent as a server pings its clients: a silent parent is dropped and dialled again', async () => {
    const parent = new WebSocketServer({ port: 0 });
    await new Promise((r) => parent.once('listening', r));
    let dials = 0;
    parent.on('connection', (ws) => {
      dials++;
      ws.once('message', (data) => {
        const { id } = JSON.parse(data.toString()) as { id: number };
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: { mounted: 'edge4', parent: 'raw' } }));
        ws.pause(); // gone silent: no pong goes back
      });
    });
    const states: string[] = [];
    const url = `ws://127.0.0.1:${(parent.address() as { port: number }).port}`;
    const joined = joinParent(new DynamicHub('edge'), url, {
      name: 'edge4',
      pingIntervalMs: 100,
      backoffMs: 10,
      onState: (s) => states.push(s),
    });
    await joined.joined;
    await eventually(() => states.includes('lost') && dials >= 2, 5000);
    const closing = joined.close();
    await tick(50);
    for (const ws of parent.clients) ws.terminate();
    await closing;
    parent.close();
  });

  it('reconnect delays grow exponentially up to the cap, each jittered into its upper half', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(5000, 200 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, { backoffMs: 200, maxBackoffMs: 5000 });
        assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d} in [${ceiling / 2}, ${ceiling}]`);
      }
    }
  });

  it('<root>.call_pause holds one stream at the server (its producer stops), call_resume lets it go on, unsubscribing a held stream ends it', async () => {
    let produced = 0;
    let finalized = 0;
    const b = await remoteHub(
      defineActivation({
        namespace: 'tick',
        methods: {
          forever: {
            streaming: true,
            handler: async function* () {
              try {
                for (;;) {
                  produced++;
                  yield produced;
                  await new Promise((r) => setImmediate(r));
                }
              } finally {
                finalized++;
              }
            },
          },
        },
      }),
      stock,
    );
    const ws = new WebSocket(b.url);
    await new Promise((r) => ws.once('open', r));
    const answers = new Map<number, unknown>();
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as { id?: number; result?: unknown };
      if (typeof msg.id === 'number') answers.set(msg.id, msg.result);
    });
    const send = (id: number, method: string, params: unknown) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    send(1, 'remote.call', { method: 'tick.forever' });
    await eventually(() => produced > 50);
    send(2, 'remote.call_pause', [answers.get(1)]);
    await eventually(() => answers.get(2) === true);
    // Items in flight when the pause landed may still arrive; then, over a while, next to none.
    await tick(50);
    const held = produced;
    await tick(100);
    assert.ok(produced <= held + 33, `the producer stops within its read-ahead (${held} → ${produced})`);
    const stopped = produced;
    send(3, 'remote.call_resume', [answers.get(1)]);
    await eventually(() => produced > stopped + 100);
    send(4, 'remote.call_pause', [answers.get(1)]);
    await eventually(() => answers.get(4) === true);
    send(5, 'remote.call_unsub', [answers.get(1)]);
    await eventually(() => finalized === 1);
    // The server is not spinning on the released hold: it still answers.
    assert.deepEqual(contents(await collect(b.hub.call('stock.get', { sku: 'alive' }))), [{ sku: 'alive' }]);
    send(6, 'remote.call_pause', [999]);
    await eventually(() => answers.has(6));
    assert.equal(answers.get(6), false);
    ws.close();
  });

  it("auth: a local token's grants restrict the mounted path (calls, schemas, MCP tools); the remote is not asked", async () => {
    const b = await remoteHub(stock, defineActivation({ namespace: 'secret', methods: { read: { handler: () => 'classified' } } }));
    const dir = mkdtempSync(join(tmpdir(), 'plexus-fed-auth-'));
    const store = new TokenStore(dir);
    const token = store.create({ name: 'clerk', hub: 'plexus', grants: [parseGrant('b.stock.get:read')] }).token;
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 } });
    try {
      const a = new DynamicHub('plexus', { policy: auth });
      mountRemote(a, 'b', b.url, { watchMs: 0 });
      await a.ready();
      const result = auth.authenticate(token, 'test', 'test');
      assert.ok(result.ok);
      const clerk = result.principal;
      const before = gets;
      assert.deepEqual(contents(await collect(a.call('b.stock.get', { sku: 'ok' }, { principal: clerk }))), [{ sku: 'ok' }]);
      assert.equal(gets, before + 1);
      const secret = await collect(a.call('b.secret.read', {}, { principal: clerk }));
      assert.deepEqual([errorOf(secret)?.code, errorOf(secret)?.message], ['-32601', 'Activation not found: secret']);
      const viaRemoteRoot = await collect(a.call('b.call', { method: 'secret.read' }, { principal: clerk }));
      assert.equal(errorOf(viaRemoteRoot)?.code, '-32601', "the remote root's call method is not granted either");
      const schema = (await a.schema('b', { principal: clerk })) as PluginSchema;
      assert.deepEqual(
        schema.children?.map((c) => c.namespace),
        ['stock'],
      );
      await assert.rejects(a.schema('b.secret', { principal: clerk }), /Activation not found: secret/);
      a.unregister('b');
    } finally {
      auth.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a mount name must be a path segment and a URL a WebSocket URL', () => {
    const a = new DynamicHub();
    assert.throws(() => mountRemote(a, 'Bad-Name', 'ws://127.0.0.1:1'), /Mount name "Bad-Name" is not a valid path segment/);
    assert.throws(() => mountRemote(a, 'ok', 'http://127.0.0.1:1'), /must start with ws:\/\/ or wss:\/\//);
    assert.equal(a.children().length, 0);
  });
});
