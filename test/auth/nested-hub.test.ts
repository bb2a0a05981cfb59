// Issue #21, gap 3: a hub registered below another (`hub.register(childHub)`) has its
// own `call` and `hashes`, which answered for its tree with no idea of the outer hub's
// rules: `plexus.inner.call {method:"shell.execute"}` ran what the caller may not see,
// and `inner.hashes` listed hidden children. Now the outer hub answers them: the inner
// path of `<hub>.call` is called through the outer hub as `<hub>.<path>`, seen, guarded
// and audited like a direct call, and a hidden path reads byte for byte like a missing one.
//
// | routing entry                         | WebSocket | in process | MCP (tools/call) | audit |
// |---------------------------------------|-----------|------------|------------------|-------|
// | <child>.call {method}                 |     x     |     x      |        x         |   x   |
// | <child>.call {method:"<child>.x.y"}   |     x     |            |                  |       |
// | <child>.<grandchild>.call (two hubs)  |     x     |     x      |                  |       |
// | <root>.call {method:"<child>.call"}   |     x     |            |                  |       |
// | <child>.hashes                        |     x     |     x      |                  |       |
// | <child>.schema, schema {method}       |     x     |            |                  |       |
// (a mounted hub's `call` and `hashes`: test/federation/mount-verbs.test.ts and visibility.test.ts)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, defineActivation, type PlexusServer, type StreamItem } from '../../src/index.js';
import { createMcpServer, ToolCatalog } from '../../src/mcp/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { collect } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';

const ran: string[] = [];

function shell() {
  return defineActivation({
    namespace: 'shell',
    methods: {
      execute: {
        verbs: ['execute'],
        params: { type: 'object', properties: { command: { type: 'string' } } },
        handler: ({ command }) => (ran.push(`shell.execute ${command}`), `ran ${command}`),
      },
      list: { handler: () => (ran.push('shell.list'), ['ls']) },
    },
  });
}
function vault() {
  return defineActivation({
    namespace: 'vault',
    methods: {
      peek: { handler: () => (ran.push('vault.peek'), 'value') },
      put: { verbs: ['write'], handler: () => (ran.push('vault.put'), true) },
    },
  });
}

/** JSON text of a wire value without timestamps and audit ids, names swapped. */
function normal(value: unknown, swaps: readonly (readonly [string, string])[] = []): string {
  let text = JSON.stringify(value, (key, v) => (key === 'timestamp' || key === 'audit_id' ? undefined : v));
  for (const [from, to] of swaps) text = text.split(from).join(to);
  return text;
}

const GRANTS = {
  /** Reads everything below `inner` (its `call` and `hashes` included), writes and executes nothing. */
  reader: ['inner.**:read'],
  /** One method, and `inner.hashes`. */
  peeker: ['inner.vault.peek:read', 'inner.hashes:read', 'inner.call:read'],
  /** Execute, spelled out, and the `call` to reach it by. */
  runner: ['inner.shell.execute:execute', 'inner.call:read'],
  /** A method, but not the `call` around it. */
  nocall: ['inner.vault.peek:read'],
} as const;
type Who = keyof typeof GRANTS;

describe("a nested hub's own call, hashes and schema follow the outer hub's rules", () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-nested-hub-'));
  const store = new TokenStore(dir);
  const tokens = {} as Record<Who, string>;
  for (const [who, grants] of Object.entries(GRANTS)) {
    tokens[who as Who] = store.create({ name: who, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) }).token;
  }
  const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 }, approvals: { standing: true } }); // routing, not approvals (approvals.test.ts)
  const deeper = new DynamicHub('deeper').register(shell(), vault());
  const inner = new DynamicHub('inner').register(shell(), vault(), deeper);
  const hub = new DynamicHub('plexus', { policy: auth }).register(inner);
  let server: PlexusServer;
  const clients = {} as Record<Who, RawClient>;
  const principal = (who: Who) => {
    const r = auth.authenticate(tokens[who], 'test', 'test');
    assert.ok(r.ok);
    return r.principal;
  };

  before(async () => {
    await hub.ready();
    server = await serveWebSocket(hub, { port: 0 });
    for (const who of Object.keys(GRANTS) as Who[]) {
      clients[who] = await RawClient.open(server.url, { headers: { authorization: `Bearer ${tokens[who]}` } });
    }
  });
  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await server.close({ graceMs: 0 });
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A direct call on the WebSocket: every item to `done`. */
  async function direct(who: Who, path: string, params: Record<string, unknown> = {}): Promise<any[]> {
    return clients[who].itemsToEnd(await clients[who].call(path, params));
  }
  /** `<path>.call {method, params}` on the WebSocket. */
  const through = (who: Who, hubPath: string, method: string, params: Record<string, unknown> = {}) =>
    direct(who, `${hubPath}.call`, { method, params });
  const errorOf = (items: any[]) => items.find((i) => i.type === 'error');
  const dataOf = (items: readonly StreamItem[]) => items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content);

  it('<child>.call of a hidden method reads byte for byte like a missing one, and runs nothing (WebSocket, in process)', async () => {
    ran.length = 0;
    const cases: [string, string, string, [string, string][]][] = [
      // hub, hidden, missing, swaps
      ['inner', 'shell.execute', 'shell.nope', [['execute', 'nope']]],
      ['inner', 'vault.put', 'vault.nope', [['put', 'nope']]],
      ['inner', 'inner.shell.execute', 'inner.shell.nope', [['execute', 'nope']]],
      ['inner.deeper', 'shell.execute', 'shell.nope', [['execute', 'nope']]],
    ];
    for (const [at, hidden, missing, swaps] of cases) {
      const seen = normal(await through('reader', at, hidden, { command: 'id' }), swaps);
      const absent = normal(await through('reader', at, missing, { command: 'id' }));
      assert.equal(seen, absent, `${at}.call ${hidden}`);
      assert.match(absent, /"message":"Method not found: inner\.(deeper\.)?(shell|vault)\.nope"/);
      // In process too.
      const p = principal('reader');
      assert.equal(
        normal(await collect(hub.call(`${at}.call`, { method: hidden, params: { command: 'id' } }, { principal: p })), swaps),
        normal(await collect(hub.call(`${at}.call`, { method: missing, params: { command: 'id' } }, { principal: p }))),
      );
    }
    // A call inside a call inside a call: inner.call → deeper.call → shell.execute.
    const nested = await through('reader', 'inner', 'deeper.call', { method: 'shell.execute', params: { command: 'id' } });
    const nestedMissing = await through('reader', 'inner', 'deeper.call', { method: 'shell.nope', params: { command: 'id' } });
    assert.equal(normal(nested, [['execute', 'nope']]), normal(nestedMissing));
    // And the root's own call around it.
    const viaRoot = await direct('reader', 'plexus.call', { method: 'inner.call', params: { method: 'shell.execute' } });
    assert.match(errorOf(viaRoot).message, /Method not found: inner\.shell\.execute/);
    // An activation the reader may not see at all, below a hub it may.
    const hiddenActivation = await direct('peeker', 'inner.call', { method: 'shell.list' });
    const missingActivation = await direct('peeker', 'inner.call', { method: 'ghost.list' });
    assert.equal(normal(hiddenActivation, [['shell', 'ghost']]), normal(missingActivation));
    assert.deepEqual(ran, [], 'nothing hidden ran');
    // What the grants do cover runs, with the same answer as a direct call.
    assert.deepEqual(dataOf(await through('reader', 'inner', 'shell.list')), [['ls']]);
    assert.deepEqual(dataOf(await through('reader', 'inner.deeper', 'vault.peek')), ['value']);
    assert.deepEqual(dataOf(await through('runner', 'inner', 'shell.execute', { command: 'id' })), ['ran id']);
    assert.deepEqual(ran, ['shell.list', 'vault.peek', 'shell.execute id']);
  });

  it('<child>.call is itself a method the grants decide on: without a grant for it, it is missing', async () => {
    const items = await direct('nocall', 'inner.call', { method: 'vault.peek' });
    const missing = await direct('nocall', 'inner.nope', { method: 'vault.peek' });
    assert.equal(normal(items, [['inner.call', 'inner.nope']]), normal(missing));
    assert.match(errorOf(missing).message, /Method not found: inner\.nope/);
    assert.deepEqual(dataOf(await direct('nocall', 'inner.vault.peek')), ['value']);
  });

  it('<child>.hashes lists only the children the caller may see (WebSocket, in process)', async () => {
    const [report] = dataOf(await direct('peeker', 'inner.hashes')) as { children: { namespace: string }[] }[];
    assert.deepEqual(
      report!.children.map((c) => c.namespace),
      ['vault'],
    );
    const [inProcess] = dataOf(await collect(hub.call('inner.hashes', {}, { principal: principal('peeker') }))) as {
      children: { namespace: string }[];
    }[];
    assert.deepEqual(
      inProcess!.children.map((c) => c.namespace),
      ['vault'],
    );
    // The values are the tree's, as in the root's hashes.
    assert.equal((report as unknown as { hash: string }).hash, (inner.hashes() as { hash: string }).hash);
    // And schemas agree: the same one child, no hidden method.
    const [schema] = dataOf(await direct('peeker', 'inner.schema')) as { methods: { name: string }[]; children: { namespace: string }[] }[];
    assert.deepEqual(
      schema!.children.map((c) => c.namespace),
      ['vault'],
    );
    assert.deepEqual(schema!.methods.map((m) => m.name).sort(), ['call', 'hashes', 'schema']);
  });

  it('MCP tools/call of <child>.call is refused like a missing path, and nothing runs', async () => {
    ran.length = 0;
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const mcpServer = createMcpServer(new ToolCatalog(hub), { principal: principal('reader') });
    await mcpServer.connect(serverSide);
    const mcp = new Client({ name: 'nested', version: '1.0.0' });
    await mcp.connect(clientSide);
    try {
      const tool = (method: string) => mcp.callTool({ name: 'inner.call', arguments: { method, params: { command: 'id' } } });
      const hidden = await tool('shell.execute');
      const missing = await tool('shell.nope');
      assert.equal(normal(hidden, [['execute', 'nope']]), normal(missing));
      assert.equal((hidden as { isError?: boolean }).isError, true);
      assert.deepEqual(ran, []);
    } finally {
      await mcp.close();
    }
  });

  it('the audit log records the inner path of <child>.call like a direct call: denied, then ok', async () => {
    await through('reader', 'inner', 'shell.execute', { command: 'audit-me' });
    await through('reader', 'inner', 'vault.peek');
    auth.audit!.flush();
    const records = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { path?: string; outcome?: string; principal?: string });
    const last = (path: string) => records.filter((r) => r.path === path).at(-1);
    assert.equal(last('inner.shell.execute')?.outcome, 'denied');
    assert.equal(last('inner.vault.peek')?.outcome, 'ok');
    assert.equal(last('inner.call')?.outcome, 'ok');
  });
});
