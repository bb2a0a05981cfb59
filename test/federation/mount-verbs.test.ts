// Issue #21, gap 1: verbs cross a mount. "Execute is never granted by a wildcard" holds
// through a mount and a joined child: the schemas a hub serves carry each method's
// verbs, the mounting hub checks its callers' grants against them, and a remote that
// declares none (the reference server) has every method treated as `execute`.
//
// | rule                                                        | WebSocket | MCP HTTP | joined child | undeclared remote |
// |-------------------------------------------------------------|-----------|----------|--------------|-------------------|
// | far.**:read / far.** / **:read,write refused far.bash.execute |     x     |    x     |      x       |         x         |
// |   (byte-identical to a missing path)                        |     x     |    x     |      x       |                   |
// | far.bash.execute:execute allowed                            |     x     |    x     |      x       |         x         |
// | far.arbor.tree_create needs write                           |     x     |    x     |      x       |                   |
// | far.call {method} is routed here: no way around the verbs    |     x     |    x     |      x       |                   |
// | verbs in the served schema, not in the hashes               |     x     |          |              |                   |
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  acceptJoins,
  DynamicHub,
  defineActivation,
  HubAuth,
  JoinBindings,
  joinParent,
  methodHash,
  mountRemote,
  parseGrant,
  serveWebSocket,
  TokenStore,
  type JoinHandle,
  type PlexusServer,
  type PluginSchema,
} from '../../src/index.js';
import { mcpHttpHandler } from '../../src/mcp/http.js';
import { eventually } from '../support/helpers.js';
import { describing, fakeHash, hostileServer, schemaOf, type HostileServer } from '../support/hostile-remote.js';
import { RawClient } from '../support/raw-client.js';

/** What ran on the remotes (every handler records itself). */
const ran: string[] = [];

/** The remote's activations: a shell (execute), a store (read and write), an echo (read). */
function remoteActivations() {
  return [
    defineActivation({
      namespace: 'bash',
      methods: {
        execute: {
          verbs: ['execute'],
          params: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
          handler: ({ command }) => (ran.push(`bash.execute ${command}`), `ran ${command}`),
        },
      },
    }),
    defineActivation({
      namespace: 'arbor',
      methods: {
        tree_create: { verbs: ['write'], handler: () => (ran.push('arbor.tree_create'), 'created') },
        tree_list: { handler: () => (ran.push('arbor.tree_list'), []) },
      },
    }),
    defineActivation({
      namespace: 'echo',
      methods: {
        echo: {
          params: { type: 'object', properties: { message: { type: 'string' } } },
          handler: ({ message }) => (ran.push('echo.echo'), message),
        },
      },
    }),
    // A hub inside the remote: its own `call` and `hashes` are described, and routed by the mounting hub.
    new DynamicHub('inner').register(
      defineActivation({
        namespace: 'bash',
        methods: { execute: { verbs: ['execute'], handler: () => (ran.push('inner.bash.execute'), 'ran inner') } },
      }),
      defineActivation({ namespace: 'echo', methods: { echo: { handler: () => 'inner echo' } } }),
    ),
  ];
}

/** JSON text of a wire value without what differs between any two calls (timestamps, audit ids, request ids), names swapped. */
function normal(value: unknown, swaps: readonly (readonly [string, string])[] = []): string {
  let text = JSON.stringify(value, (key, v) => (key === 'timestamp' || key === 'audit_id' ? undefined : v));
  for (const [from, to] of swaps) text = text.split(from).join(to);
  return text;
}

/**
 * A reference-like remote (root `evil`) whose schemas declare no verbs: `bash.execute`
 * and `echo.echo`, answered when called.
 */
function undeclaredRemote(): Promise<HostileServer> {
  const method = (name: string) => ({ name, description: name, hash: fakeHash(name), streaming: false, bidirectional: false });
  const bash = schemaOf('bash', { methods: [method('execute')] });
  const echo = schemaOf('echo', { methods: [method('echo')] });
  const root = schemaOf('evil', {
    children: [
      { namespace: 'bash', hash: bash.hash as string },
      { namespace: 'echo', hash: echo.hash as string },
    ],
  });
  const tree = describing({ hash: () => root.hash as string, schema: (path) => ({ '': root, bash, echo })[path] });
  return hostileServer((req, peer) => {
    const called = req.method === 'evil.call' ? String(req.params?.method) : '';
    if (called === 'evil.bash.execute' || called === 'evil.echo.echo') {
      ran.push(`undeclared ${called}`);
      return peer.answer(req.id, `ran ${called}`, called);
    }
    tree(req, peer);
  });
}

/** Grants of each principal under test. */
const PRINCIPALS = {
  readAll: ['far.**:read', 'old.**:read', 'edge.**:read'],
  bare: ['far.**', 'old.**', 'edge.**'],
  everything: ['**', '**:write'],
  exec: ['far.bash.execute:execute', 'old.bash.execute:execute', 'edge.bash.execute:execute'],
  writer: ['far.**:read,write', 'edge.**:read,write'],
} as const;
type Who = keyof typeof PRINCIPALS;

describe('verbs cross a mount and a join (WebSocket, MCP HTTP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-mount-verbs-'));
  const tokens = {} as Record<Who, string>;
  const servers: PlexusServer[] = [];
  let undeclared: HostileServer;
  let auth: HubAuth;
  let hub: DynamicHub;
  let server: PlexusServer;
  let joined: JoinHandle;
  let acceptor: ReturnType<typeof acceptJoins>;
  const clients = {} as Record<Who, RawClient>;

  before(async () => {
    const store = new TokenStore(dir);
    for (const [who, grants] of Object.entries(PRINCIPALS)) {
      tokens[who as Who] = store.create({ name: who, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) }).token;
    }
    const joiner = store.create({ name: 'edge', hub: 'plexus', grants: [parseGrant('_join.edge')] }).token;
    // The remote trusts the mount's connection fully: only the local grants stand between a caller and it.
    const remote = await serveWebSocket(new DynamicHub('remote').register(...remoteActivations()), { port: 0 });
    servers.push(remote);
    undeclared = await undeclaredRemote();
    auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 }, approvals: { standing: true } }); // verbs, not approvals (approvals-mount.test.ts)
    hub = new DynamicHub('plexus', { policy: auth });
    mountRemote(hub, 'far', remote.url, { watchMs: 0 });
    mountRemote(hub, 'old', undeclared.url, { watchMs: 0 });
    acceptor = acceptJoins(hub, { watchMs: 0, bindings: JoinBindings.in(dir) });
    const mcp = mcpHttpHandler(hub);
    server = await serveWebSocket(hub, { port: 0, takeOver: acceptor.takeOver, http: (req, res) => mcp(req, res) });
    mcp.bind(server.host, server.port);
    servers.unshift(server);
    joined = joinParent(new DynamicHub('edge').register(...remoteActivations()), server.url, {
      name: 'edge',
      token: joiner,
      backoffMs: 50,
    });
    await joined.joined;
    await eventually(() => acceptor.mounts.get('edge')?.connected === true, 20_000);
    await hub.ready();
    for (const who of Object.keys(PRINCIPALS) as Who[]) {
      clients[who] = await RawClient.open(server.url, { headers: { authorization: `Bearer ${tokens[who]}` } });
    }
  });
  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await joined?.close();
    acceptor?.close();
    for (const s of servers) await s.close({ graceMs: 0 });
    await undeclared?.close();
    auth?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The whole answer of one call through `<root>.call`: the subscription's items, in order. */
  async function call(who: Who, path: string, params: Record<string, unknown> = {}): Promise<any[]> {
    const client = clients[who];
    const sub = await client.call('plexus.call', { method: path, params });
    return client.itemsToEnd(sub);
  }
  const ok = (items: any[]) => items.find((i) => i.type === 'error') === undefined && items.some((i) => i.type === 'data');

  /** Asserts that `who` calling `path` reads byte for byte like calling the missing `missing` (names swapped). */
  async function refusedAsMissing(who: Who, path: string, missing: string, params: Record<string, unknown> = {}): Promise<string> {
    // The path, then each segment that differs (messages name one segment).
    const a = path.split('.');
    const b = missing.split('.');
    const swaps: [string, string][] = [[path, missing], ...a.map((seg, i): [string, string] => [seg, b[i]!]).filter(([x, y]) => x !== y)];
    const hidden = normal(await call(who, path, params), swaps);
    const absent = normal(await call(who, missing, params));
    assert.equal(hidden, absent, `${who}: ${path} must read exactly like the missing ${missing}`);
    assert.match(absent, /"type":"error"/);
    return absent;
  }

  it("the schemas a hub serves carry each method's verbs; the root hash is computed without them", async () => {
    const schema = (await hub.schema('far.bash')) as PluginSchema;
    assert.deepEqual(
      schema.methods.map((m) => [m.name, m.verbs]),
      [
        ['execute', ['execute']],
        ['schema', undefined],
      ],
    );
    const arbor = (await hub.schema('far.arbor')) as PluginSchema;
    assert.deepEqual(
      arbor.methods.map((m) => m.verbs),
      [['write'], ['read'], undefined],
    );
    // A remote that declares none: every method is `execute` here, and so in what this hub serves.
    const old = (await hub.schema('old.echo')) as PluginSchema;
    assert.deepEqual(old.methods[0]!.verbs, ['execute']);
    // Verbs are not hashed: a method's hash is the spec's fold of its other fields.
    const [execute] = schema.methods;
    assert.equal(execute!.hash, methodHash(execute!));
  });

  for (const who of ['readAll', 'bare', 'everything'] as const) {
    it(`${PRINCIPALS[who].join(' ')}: far.bash.execute, its joined and undeclared twins, and far.call around them are refused like missing paths`, async () => {
      ran.length = 0;
      // The whole activation is hidden (its one method needs execute): "Activation not found: bash".
      const answer = await refusedAsMissing(who, 'far.bash.execute', 'far.ghost.execute', { command: 'id' });
      assert.match(answer, /Activation not found: ghost/);
      await refusedAsMissing(who, 'edge.bash.execute', 'edge.ghost.execute', { command: 'id' });
      // An undeclared remote: its echo is execute too, so nothing there is reached by a wildcard.
      assert.ok(!ok(await call(who, 'old.bash.execute', { command: 'id' })));
      assert.ok(!ok(await call(who, 'old.echo.echo', { message: 'hi' })));
      // `<mount>.call` would run its inner path with the mount's credential: it is routed here.
      for (const mount of ['far', 'edge']) {
        const inner = await call(who, `${mount}.call`, { method: 'bash.execute', params: { command: 'id' } });
        const ghost = await call(who, `${mount}.call`, { method: 'ghost.execute', params: { command: 'id' } });
        assert.equal(normal(inner, [['bash', 'ghost']]), normal(ghost), `${who}: ${mount}.call around bash.execute`);
        assert.ok(!ok(inner));
      }
      // A hub inside the remote: its `call` is routed here too, and its `hashes` lists no hidden child.
      const nested = await call(who, 'far.inner.call', { method: 'bash.execute' });
      const nestedGhost = await call(who, 'far.inner.call', { method: 'ghost.execute' });
      assert.equal(normal(nested, [['bash', 'ghost']]), normal(nestedGhost));
      const [hashes] = (await call(who, 'far.inner.hashes')).filter((i) => i.type === 'data').map((i) => i.content);
      assert.deepEqual(
        hashes.children.map((c: { namespace: string }) => c.namespace),
        ['echo'],
      );
      assert.deepEqual(ran, [], 'nothing ran on the remotes');
      // What the wildcard does cover still works.
      assert.ok(ok(await call(who, 'far.echo.echo', { message: 'hi' })));
    });
  }

  it('far.bash.execute:execute (spelled out) runs it, on the mount, the joined child and the undeclared remote', async () => {
    ran.length = 0;
    assert.deepEqual(
      (await call('exec', 'far.bash.execute', { command: 'id' })).filter((i) => i.type === 'data').map((i) => i.content),
      ['ran id'],
    );
    assert.ok(ok(await call('exec', 'edge.bash.execute', { command: 'id' })));
    assert.ok(ok(await call('exec', 'old.bash.execute', { command: 'id' })));
    assert.deepEqual(ran.sort(), ['bash.execute id', 'bash.execute id', 'undeclared evil.bash.execute']);
    // Nothing else: the undeclared echo is no more granted than the rest.
    await refusedAsMissing('exec', 'far.echo.echo', 'far.ghost.echo');
  });

  it('far.arbor.tree_create needs write: refused to read grants like a missing method, allowed to read,write', async () => {
    ran.length = 0;
    for (const who of ['readAll', 'bare'] as const) {
      for (const mount of ['far', 'edge']) {
        const answer = await refusedAsMissing(who, `${mount}.arbor.tree_create`, `${mount}.arbor.tree_nope`);
        assert.match(answer, new RegExp(`Method not found: ${mount}.arbor.tree_nope`));
        assert.ok(ok(await call(who, `${mount}.arbor.tree_list`)));
      }
    }
    assert.deepEqual(ran, ['arbor.tree_list', 'arbor.tree_list', 'arbor.tree_list', 'arbor.tree_list']);
    assert.ok(ok(await call('writer', 'far.arbor.tree_create')));
    assert.ok(ok(await call('writer', 'edge.arbor.tree_create')));
    assert.ok(ok(await call('everything', 'far.arbor.tree_create')));
    await refusedAsMissing('writer', 'far.bash.execute', 'far.ghost.execute', { command: 'id' });
  });

  it('a direct WebSocket call (not through <root>.call) is refused the same way', async () => {
    const client = clients.readAll;
    const direct = async (path: string) => client.itemsToEnd(await client.call(path, { command: 'id' }));
    assert.equal(normal(await direct('far.bash.execute'), [['bash', 'ghost']]), normal(await direct('far.ghost.execute')));
    assert.equal(
      normal(await direct('far.call'), []).includes('"type":"error"'),
      true,
      'far.call without params is an error, never a relay',
    );
  });

  it('MCP HTTP: tools/list leaves out what the verbs refuse; tools/call reads like a missing tool', async () => {
    const mcpUrl = new URL(`http://127.0.0.1:${server.port}/mcp`);
    const open = async (who: Who) => {
      const client = new Client({ name: who, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${tokens[who]}` } } }),
      );
      return client;
    };
    const tool = async (client: Client, name: string, args: Record<string, unknown>) => {
      try {
        return { result: await client.callTool({ name, arguments: args }) };
      } catch (err) {
        return { error: String(err) };
      }
    };
    ran.length = 0;
    for (const who of ['readAll', 'bare', 'everything'] as const) {
      const client = await open(who);
      try {
        const names = (await client.listTools()).tools.map((t) => t.name);
        assert.ok(names.includes('far.echo.echo'), `${who} sees far.echo.echo`);
        for (const refused of ['far.bash.execute', 'edge.bash.execute', 'old.bash.execute', 'old.echo.echo']) {
          assert.ok(!names.includes(refused), `${who} must not see ${refused}`);
        }
        if (who !== 'everything') assert.ok(!names.includes('far.arbor.tree_create'));
        for (const mount of ['far', 'edge']) {
          assert.equal(
            normal(await tool(client, `${mount}.bash.execute`, { command: 'id' }), [['bash', 'ghost']]),
            normal(await tool(client, `${mount}.ghost.execute`, { command: 'id' })),
          );
          // <mount>.call as a tool: routed here, refused like a missing path.
          const inner = await tool(client, `${mount}.call`, { method: 'bash.execute', params: { command: 'id' } });
          assert.equal(JSON.stringify(inner).includes('ran id'), false, `${who}: ${mount}.call as a tool`);
        }
      } finally {
        await client.close();
      }
    }
    const exec = await open('exec');
    try {
      const names = (await exec.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('far.bash.execute') && names.includes('edge.bash.execute') && names.includes('old.bash.execute'));
      const result = (await exec.callTool({ name: 'far.bash.execute', arguments: { command: 'id' } })) as { content: { text: string }[] };
      assert.match(result.content[0]!.text, /ran id/);
    } finally {
      await exec.close();
    }
    assert.deepEqual(ran, ['bash.execute id']);
  });
});

describe('verbs are not in the hashes, so a new connection reads the tree afresh', () => {
  it('a remote restarted with other verbs under the same hashes is described with the new ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-mount-verbs-fresh-'));
    let verbs: string[] = ['read'];
    const method = () => ({ name: 'run', description: 'run', hash: fakeHash('run'), streaming: false, bidirectional: false, verbs });
    const tool = () => schemaOf('tool', { hash: fakeHash('tool'), methods: [method()] });
    const root = () => schemaOf('evil', { hash: fakeHash('root'), children: [{ namespace: 'tool', hash: fakeHash('tool') }] });
    const remote = await hostileServer(describing({ hash: () => fakeHash('root'), schema: (path) => (path === '' ? root() : tool()) }));
    const store = new TokenStore(dir);
    const { token } = store.create({ name: 'reader', hub: 'plexus', grants: [parseGrant('old.**:read')] });
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 } });
    const hub = new DynamicHub('plexus', { policy: auth });
    const mount = mountRemote(hub, 'old', remote.url, { watchMs: 0, backoffMs: 50, maxBackoffMs: 100 });
    try {
      await hub.ready();
      const reader = auth.authenticate(token, 'test', 'test');
      assert.ok(reader.ok);
      const visible = async () => {
        await hub.ready();
        return ((await hub.schema('old.tool', { principal: reader.principal })) as PluginSchema).methods.map((m) => m.name);
      };
      assert.deepEqual(await visible(), ['run', 'schema']);
      // The remote "restarts" as something that runs programs, with the same hashes.
      verbs = ['execute'];
      remote.peers[0]!.ws.terminate();
      await eventually(
        () => remote.peers.length === 2 && remote.peers[1]!.requests.some((r) => r.params?.method === 'evil.tool.schema'),
        10_000,
      );
      await eventually(() => mount.connected, 5000);
      // Its one method now needs execute: the activation, and the mount with it, are gone for a reader.
      await assert.rejects(visible(), /Activation not found: old/);
    } finally {
      hub.unregister('old');
      auth.close();
      await remote.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
