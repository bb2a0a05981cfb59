// Issue #21 items 3 and 4: hidden is byte-identical to missing, and one visibility
// function decides what exists for a principal, through a mount too.
//
// Each rule is tried as a hostile client would: a thing the principal may not see is
// compared, byte for byte (after removing timestamps and the audit id, and swapping
// the hidden name for the missing one), with a thing that does not exist.
//
// | answer                                   | WebSocket | stdio | MCP HTTP | through a mount | in process (property) |
// |------------------------------------------|-----------|-------|----------|-----------------|-----------------------|
// | call: hidden activation / method         |     x     |   x   |    x     |        x        |           x           |
// | <root>.call wrapping a hidden path       |     x     |   x   |    x     |        x        |                       |
// | <node>.schema, schema {method}           |     x     |   x   |    x     |        x        |           x           |
// | <root>.hashes lists no hidden activation |     x     |   x   |          |        x        |           x           |
// | MCP tools/list and tools/call            |           |       |    x     |        x        |           x           |
//
// MCP over stdio runs the same bridge with the same visibility function (auth.test.ts
// covers its filtering); here it is MCP over HTTP and in-memory in the property test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import type { Principal } from '../../src/auth/principal.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { mountRemote } from '../../src/federation/index.js';
import { DynamicHub, defineActivation, type Activation, type PlexusServer, type PluginSchema, type StreamItem } from '../../src/index.js';
import { createMcpServer, ToolCatalog } from '../../src/mcp/index.js';
import { mcpHttpHandler } from '../../src/mcp/http.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { ran, Shell, Vault } from '../fixtures/guarded.js';
import { collect } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';
import { StdioClient } from '../support/stdio-client.js';

/** The grants of the principal under test: one method here, one through the mount, and the hashes of the root and the mount. */
const GRANTS = ['vault.peek:read', 'far.vault.peek:read', 'plexus.hashes:read', 'far.hashes:read'];

/** JSON text of a wire value with what legitimately differs between two calls taken out. */
function normal(value: unknown, swaps: readonly (readonly [string, string])[] = []): string {
  let text = JSON.stringify(value, (key, v) => (key === 'timestamp' || key === 'audit_id' ? undefined : v));
  for (const [from, to] of swaps) text = text.split(from).join(to);
  return text;
}

/** The client-facing answer of one call over a raw connection: the subscribe response's shape and every item, in order. */
async function answer(client: RawClient, method: string, params: unknown): Promise<unknown> {
  const response = await client.request(method, params);
  if (!('result' in response)) return { error: response.error };
  // Every item up to `done` (an error item comes before it, maybe in another frame).
  await client.waitFor((f) => f.params?.subscription === response.result && f.params.result.type === 'done');
  return { subscribed: typeof response.result, items: client.items(response.result) };
}

/** Calls `path` through `<root>.call`, as a client would (`hub call`, PlexusClient). */
const call = (client: RawClient, path: string, params: Record<string, unknown> = {}) =>
  answer(client, 'plexus.call', { method: path, params });

/**
 * Asserts that what `ask` answers for the hidden thing is byte for byte what it
 * answers for the missing one, once the names are swapped; returns the answer.
 */
async function sameAsMissing(
  ask: (name: string) => Promise<unknown>,
  hidden: string,
  missing: string,
  swaps: readonly (readonly [string, string])[] = [[hidden, missing]],
): Promise<string> {
  const seen = normal(await ask(hidden), swaps);
  const absent = normal(await ask(missing));
  assert.equal(seen, absent, `hidden ${hidden} must read exactly like missing ${missing}`);
  return absent;
}

function dataOf(answerValue: unknown): unknown[] {
  return ((answerValue as { items: StreamItem[] }).items ?? [])
    .filter((i) => i.type === 'data')
    .map((i) => (i as { content: unknown }).content);
}

/** Every method path a principal can see through schemas, walking from the root. */
async function schemaPaths(schemaOf: (path: string) => Promise<PluginSchema>): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (path: string): Promise<void> => {
    const schema = await schemaOf(path);
    for (const m of schema.methods) if (m.name !== 'schema') out.add(path ? `${path}.${m.name}` : `plexus.${m.name}`);
    for (const c of schema.children ?? []) await walk(path ? `${path}.${c.namespace}` : c.namespace);
  };
  await walk('');
  return out;
}

describe('hidden is byte-identical to missing (WebSocket, MCP HTTP, through a mount)', () => {
  let dir: string;
  let token: string;
  let auth: HubAuth;
  let remote: PlexusServer;
  let server: PlexusServer;
  let hub: DynamicHub;
  let client: RawClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-visibility-'));
    token = new TokenStore(dir).create({ name: 'peeker', hub: 'plexus', grants: GRANTS.map((g) => parseGrant(g)) }).token;
    // The remote trusts the mount's connection fully: only the local grants stand between the caller and it.
    remote = await serveWebSocket(new DynamicHub('remote').register(new Vault(), new Shell()), { port: 0 });
    auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 }, approvals: { standing: true } }); // visibility, not approvals (approvals.test.ts)
    hub = new DynamicHub('plexus', { policy: auth }).register(new Vault(), new Shell());
    mountRemote(hub, 'far', remote.url, { watchMs: 0 });
    await hub.ready();
    const mcp = mcpHttpHandler(hub);
    server = await serveWebSocket(hub, { port: 0, http: (req, res) => mcp(req, res) });
    mcp.bind(server.host, server.port);
    client = await RawClient.open(server.url, { headers: { authorization: `Bearer ${token}` } });
    ran.length = 0;
  });
  after(async () => {
    client.close();
    await server.close({ graceMs: 0 });
    await remote.close({ graceMs: 0 });
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a call to a hidden activation or method reads like a missing one: message, code and provenance', async () => {
    const activation = await sameAsMissing((a) => call(client, `${a}.list`), 'shell', 'ghost');
    assert.match(activation, /"provenance":\["plexus"\].*"message":"Activation not found: ghost"/);
    // Before the fix the hidden method failed with provenance ["plexus"], the missing one with ["vault"].
    const method = await sameAsMissing((m) => call(client, `vault.${m}`, { key: 'k', value: 'v' }), 'put', 'nope', [
      ['vault.put', 'vault.nope'],
    ]);
    assert.match(method, /"provenance":\["vault"\].*"message":"Method not found: vault.nope"/);
    // Directly, not through <root>.call: the subscription's items are the same too.
    await sameAsMissing((m) => answer(client, `vault.${m}`, { key: 'k' }), 'put', 'nope', [['vault.put', 'vault.nope']]);
    await sameAsMissing((a) => answer(client, `${a}.execute`, { command: 'ls' }), 'shell', 'ghost');
    // <root>.call inside <root>.call.
    await sameAsMissing((m) => call(client, 'plexus.call', { method: `vault.${m}`, params: {} }), 'put', 'nope', [
      ['vault.put', 'vault.nope'],
    ]);
    // The root's own methods: `hashes` is granted here; a root method that is hidden reads like a missing one.
    await sameAsMissing((m) => call(client, `plexus.${m}`), 'respond', 'nope', [['plexus.respond', 'plexus.nope']]);
    assert.deepEqual(ran, [], 'nothing hidden ran');
  });

  it('schema with and without method: a hidden activation or method is "not found" exactly like a missing one', async () => {
    await sameAsMissing((a) => call(client, `${a}.schema`), 'shell', 'ghost');
    await sameAsMissing((m) => call(client, 'vault.schema', { method: m }), 'put', 'nope', [['vault.put', 'vault.nope']]);
    await sameAsMissing((m) => call(client, `vault.${m}.schema`), 'put', 'nope');
    await sameAsMissing((m) => call(client, 'plexus.schema', { method: m }), 'respond', 'nope', [['plexus.respond', 'plexus.nope']]);
    const vault = dataOf(await call(client, 'vault.schema'))[0] as PluginSchema;
    assert.deepEqual(
      vault.methods.map((m) => m.name),
      ['peek', 'schema'],
    );
  });

  it('<root>.hashes lists only the activations the principal may see, the same ones as <root>.schema', async () => {
    const [report] = dataOf(await call(client, 'plexus.hashes')) as { children: { namespace: string }[] }[];
    const [root] = dataOf(await call(client, 'plexus.schema')) as PluginSchema[];
    const names = (list: readonly { namespace: string }[] | undefined) => (list ?? []).map((c) => c.namespace).sort();
    assert.deepEqual(names(report!.children), ['far', 'vault']);
    assert.deepEqual(names(report!.children), names(root!.children));
  });

  it('through a mount: schemas are filtered by the local grants, never relayed unfiltered; calls read like missing', async () => {
    // Granted only far.vault.peek: the remote's answer to the mount would list put and whoami too.
    const vault = dataOf(await call(client, 'far.vault.schema'))[0] as PluginSchema;
    assert.deepEqual(
      vault.methods.map((m) => m.name),
      ['peek', 'schema'],
    );
    const far = dataOf(await call(client, 'far.schema'))[0] as PluginSchema;
    assert.deepEqual(
      far.children?.map((c) => c.namespace),
      ['vault'],
    );
    assert.deepEqual(
      far.methods.map((m) => m.name),
      ['hashes', 'schema'],
    );
    await sameAsMissing((m) => call(client, 'far.vault.schema', { method: m }), 'put', 'nope', [['far.vault.put', 'far.vault.nope']]);
    await sameAsMissing((m) => call(client, 'far.vault.schema', { method: m }), 'whoami', 'nope', [['far.vault.whoami', 'far.vault.nope']]);
    await sameAsMissing((a) => call(client, `far.${a}.schema`), 'shell', 'ghost');
    await sameAsMissing((m) => call(client, `far.vault.${m}`, { key: 'k', value: 'v' }), 'put', 'nope', [
      ['far.vault.put', 'far.vault.nope'],
    ]);
    await sameAsMissing((a) => call(client, `far.${a}.list`), 'shell', 'ghost');
    // The remote root's own methods are remote paths like any other: not granted, not there.
    await sameAsMissing((m) => call(client, `far.${m}`, { method: 'shell.list' }), 'call', 'nope', [['far.call', 'far.nope']]);
    // The mounted hub's hashes list what the local grants show, not what the remote shows the mount.
    const [farHashes] = dataOf(await call(client, 'far.hashes')) as { namespace: string; children: { namespace: string }[] }[];
    assert.deepEqual([farHashes!.namespace, farHashes!.children.map((c) => c.namespace)], ['far', ['vault']]);
    // The granted method still works, through the mount.
    assert.deepEqual(dataOf(await call(client, 'far.vault.peek', { key: 'k' })), ['value of k']);
    assert.deepEqual(ran, ['vault.peek k']);
    ran.length = 0;
  });

  it('MCP over HTTP: tools/list names what schemas show; tools/call of a hidden tool reads like a missing one', async () => {
    const url = `http://127.0.0.1:${server.port}/mcp`;
    const headers = (session?: string) => ({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      ...(session ? { 'mcp-session-id': session } : {}),
    });
    /** One JSON-RPC request on the session; its answer as the client reads it (SSE or JSON). */
    const rpc = async (session: string | undefined, id: number, method: string, params: unknown) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: headers(session),
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      });
      const text = await res.text();
      const body = res.headers.get('content-type')?.includes('text/event-stream')
        ? text
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('')
        : text;
      return { status: res.status, session: res.headers.get('mcp-session-id') ?? undefined, message: JSON.parse(body) };
    };
    const init = await rpc(undefined, 1, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'raw', version: '1' },
    });
    assert.equal(init.status, 200);
    const session = init.session!;
    await fetch(url, {
      method: 'POST',
      headers: headers(session),
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    const tools = (await rpc(session, 2, 'tools/list', {})).message.result.tools as { name: string }[];
    const listed = new Set(tools.map((t) => t.name));
    const viaSchemas = await schemaPaths(
      async (path) => dataOf(await call(client, path ? `${path}.schema` : 'plexus.schema'))[0] as PluginSchema,
    );
    viaSchemas.delete('plexus.call'); // the meta-tools stand for the root's call and schema
    viaSchemas.add('plexus.call');
    viaSchemas.add('plexus.schema');
    assert.deepEqual([...listed].sort(), [...viaSchemas].sort());
    let id = 10;
    const tool = async (name: string, args: Record<string, unknown>) => {
      const { status, message } = await rpc(session, ++id, 'tools/call', { name, arguments: args });
      return { status, message: { ...message, id: 'n' } };
    };
    await sameAsMissing((a) => tool(`${a}.list`, {}), 'shell', 'ghost');
    await sameAsMissing((m) => tool(`vault.${m}`, { key: 'k', value: 'v' }), 'put', 'nope', [['vault.put', 'vault.nope']]);
    await sameAsMissing((m) => tool(`far.vault.${m}`, { key: 'k', value: 'v' }), 'put', 'nope', [['far.vault.put', 'far.vault.nope']]);
    await sameAsMissing((m) => tool('plexus.call', { method: `vault.${m}`, params: {} }), 'put', 'nope', [['vault.put', 'vault.nope']]);
    await sameAsMissing((m) => tool('plexus.call', { method: `far.vault.${m}`, params: {} }), 'put', 'nope', [
      ['far.vault.put', 'far.vault.nope'],
    ]);
    await sameAsMissing((a) => tool('plexus.schema', { path: `far.${a}` }), 'shell', 'ghost');
    await sameAsMissing((m) => tool('plexus.schema', { path: `far.vault.${m}` }), 'put', 'nope');
    await sameAsMissing((m) => tool('plexus.schema', { path: `vault.${m}` }), 'put', 'nope', [['vault.put', 'vault.nope']]);
    assert.deepEqual(ran, [], 'nothing hidden ran');
  });
});

describe('hidden is byte-identical to missing over stdio (hub serve --stdio --token, a child process)', () => {
  let dir: string;
  let stdio: StdioClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-visibility-stdio-'));
    const token = new TokenStore(dir).create({ name: 'peeker', hub: 'plexus', grants: GRANTS.map((g) => parseGrant(g)) }).token;
    stdio = StdioClient.start(['--no-builtins', '--token', token, 'test/fixtures/guarded.ts'], { PLEXUS_HUB_DATA: dir });
    await stdio.started();
  });
  after(async () => {
    await stdio.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls, schemas and hashes: the same bytes for a hidden and a missing path', async () => {
    await sameAsMissing((a) => call(stdio, `${a}.list`), 'shell', 'ghost');
    const method = await sameAsMissing((m) => call(stdio, `vault.${m}`, { key: 'k', value: 'v' }), 'put', 'nope', [
      ['vault.put', 'vault.nope'],
    ]);
    assert.match(method, /"provenance":\["vault"\]/);
    await sameAsMissing((m) => answer(stdio, `vault.${m}`, { key: 'k' }), 'put', 'nope', [['vault.put', 'vault.nope']]);
    await sameAsMissing((m) => call(stdio, 'vault.schema', { method: m }), 'put', 'nope', [['vault.put', 'vault.nope']]);
    await sameAsMissing((a) => call(stdio, `${a}.schema`), 'shell', 'ghost');
    const [report] = dataOf(await call(stdio, 'plexus.hashes')) as { children: { namespace: string }[] }[];
    assert.deepEqual(
      report!.children.map((c) => c.namespace),
      ['vault'],
    );
  });
});

// ---- the property: for random trees and grants, every answer agrees on what exists ----

interface TreeSpec {
  readonly name: string;
  readonly methods: readonly { readonly name: string; readonly verbs: readonly ('read' | 'write' | 'execute')[] }[];
  readonly children: readonly TreeSpec[];
}

const NAMES = ['alpha', 'beta', 'gamma', 'delta'];
const METHODS = ['get', 'put', 'run', 'list'];

const treeArb: fc.Arbitrary<TreeSpec[]> = fc.letrec<{ node: TreeSpec; nodes: TreeSpec[] }>((tie) => ({
  node: fc.record({
    name: fc.constantFrom(...NAMES),
    methods: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom(...METHODS),
        verbs: fc.constantFrom<('read' | 'write' | 'execute')[]>(['read'], ['write'], ['execute'], ['read', 'write']),
      }),
      { selector: (m) => m.name, maxLength: 3 },
    ),
    children: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant([]), tie('nodes')),
  }),
  nodes: fc.uniqueArray(tie('node'), { selector: (n) => n.name, maxLength: 3 }),
})).nodes;

/**
 * Grants aimed at a tree: each takes a real path (a method's or an activation's) and
 * maybe widens it (one segment to `*`, the tail to `**`), with verbs that may or may
 * not cover the method's; some are made up. Execute only on exact paths, as
 * `parseGrant` insists.
 */
function grantsFor(specs: readonly TreeSpec[]): fc.Arbitrary<string[]> {
  const all = everything(specs);
  const paths = [...all.methods, ...all.nodes, 'alpha.get', 'beta.zz'];
  const grant = fc
    .tuple(
      fc.constantFrom(...paths),
      fc.nat(),
      fc.constantFrom('exact', 'star', 'tail'),
      fc.constantFrom('read', 'write', 'read,write', 'execute'),
    )
    .map(([path, at, widen, verbs]) => {
      const segs = path.split('.');
      if (widen === 'star') segs[at % segs.length] = '*';
      if (widen === 'tail') segs.splice((at % segs.length) + 1, segs.length, '**');
      const pattern = segs.join('.');
      return `${pattern}:${verbs === 'execute' && pattern.includes('*') ? 'read' : verbs}`;
    });
  return fc.array(grant, { maxLength: 4 });
}

function build(spec: TreeSpec): Activation {
  const kids = spec.children.map(build);
  return defineActivation({
    namespace: spec.name,
    methods: Object.fromEntries(spec.methods.map((m) => [m.name, { verbs: [...m.verbs], handler: () => `${spec.name}.${m.name}` }])),
    ...(kids.length > 0 ? { children: () => kids } : {}),
  });
}

/** Every method path in the tree (what exists for a trusted caller), and the activation paths. */
function everything(specs: readonly TreeSpec[]): { methods: string[]; nodes: string[] } {
  const methods: string[] = [];
  const nodes: string[] = [];
  const visit = (s: TreeSpec, at: string): void => {
    nodes.push(at);
    for (const m of s.methods) methods.push(`${at}.${m.name}`);
    for (const c of s.children) visit(c, `${at}.${c.name}`);
  };
  for (const s of specs) visit(s, s.name);
  return { methods, nodes };
}

const notFound = (items: readonly StreamItem[]) => {
  const e = items.find((i) => i.type === 'error') as { message: string } | undefined;
  return e !== undefined && /^(Activation|Method) not found: /.test(e.message);
};

describe('one visibility function: calls, schemas, hashes and tools/list agree on what exists (property)', () => {
  it('for random trees and grants', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-visibility-prop-'));
    new TokenStore(dir).create({ name: 'first', hub: 'plexus', grants: [] });
    // One HubAuth for every run (its audit worker is costly to start and stop); each run a new hub and principal.
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1_000_000 }, approvals: { standing: true } });
    let runs = 0;
    /** How often each side was exercised, so the property cannot pass by generating only empty cases. */
    const seenCounts = { hidden: 0, callable: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(
          treeArb.chain((specs) => fc.tuple(fc.constant(specs), grantsFor(specs))),
          async ([specs, grants]) => {
            const token = auth.store!.create({ name: `p${++runs}`, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) }).token;
            {
              const hub = new DynamicHub('plexus', { policy: auth }).register(...specs.map(build));
              await hub.ready();
              const result = auth.authenticate(token, 'test', 'test');
              assert.ok(result.ok);
              const p: Principal = result.principal;
              const all = everything(specs);
              // Calls: a method exists for p when calling it is anything but "not found"; a
              // hidden one's answer is the missing sibling's, byte for byte.
              const byCalls = new Set<string>();
              for (const path of all.methods) {
                const items = await collect(hub.call(path, {}, { principal: p }));
                if (!notFound(items)) {
                  byCalls.add(path);
                  seenCounts.callable++;
                  continue;
                }
                seenCounts.hidden++;
                const dot = path.lastIndexOf('.');
                const ghost = `${path.slice(0, dot)}.zz${path.slice(dot + 1)}`;
                const absent = await collect(hub.call(ghost, {}, { principal: p }));
                assert.equal(normal(items, [[path, ghost]]), normal(absent), `${path} hidden vs ${ghost} missing`);
                const schemaOf = await collect(hub.call(`${path.slice(0, dot)}.schema`, { method: path.slice(dot + 1) }, { principal: p }));
                const schemaAbsent = await collect(
                  hub.call(`${path.slice(0, dot)}.schema`, { method: `zz${path.slice(dot + 1)}` }, { principal: p }),
                );
                assert.equal(normal(schemaOf, [[path, ghost]]), normal(schemaAbsent));
              }
              // A hidden activation whose parent is seen reads like a missing sibling (below a
              // hidden one, both fail at the hidden ancestor alike: the method loop shows that).
              const seen = new Set<string>();
              for (const node of all.nodes) {
                const seg = node.split('.');
                const ghostNode = [...seg.slice(0, -1), `zz${seg.at(-1)}`].join('.');
                const items = await collect(hub.call(`${node}.schema`, {}, { principal: p }));
                if (!notFound(items)) seen.add(node);
                else if (seg.length === 1 || seen.has(seg.slice(0, -1).join('.'))) {
                  const absent = await collect(hub.call(`${ghostNode}.schema`, {}, { principal: p }));
                  assert.equal(normal(items, [[`: ${seg.at(-1)}"`, `: zz${seg.at(-1)}"`]]), normal(absent), `${node} hidden vs missing`);
                }
              }
              // Schemas, walked from the root (root methods aside: they are the hub's, not the tree's).
              const bySchemas = await schemaPaths(async (path) => {
                const items = await collect(hub.call(path ? `${path}.schema` : 'plexus.schema', {}, { principal: p }));
                return (items.find((i) => i.type === 'data') as { content: PluginSchema }).content;
              });
              const tree = (s: Set<string>) => [...s].filter((x) => !x.startsWith('plexus.')).sort();
              assert.deepEqual(tree(bySchemas), tree(byCalls));
              // Hashes: the root's children, as <root>.hashes lists them, are the top activations seen.
              const hashes = auth.access.visible(p, hub, [], hub.methods().find((m) => m.name === 'hashes')!);
              const top = [...new Set(tree(byCalls).map((x) => x.split('.')[0]!))].sort();
              const report = await collect(hub.call('plexus.hashes', {}, { principal: p }));
              if (hashes) {
                const content = (report.find((i) => i.type === 'data') as { content: { children?: { namespace: string }[] } }).content;
                assert.deepEqual((content.children ?? []).map((c) => c.namespace).sort(), top);
              } else assert.ok(notFound(report));
              // MCP tools/list, through the real bridge (in memory).
              const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
              const server = createMcpServer(new ToolCatalog(hub), { principal: p });
              await server.connect(serverSide);
              const mcp = new Client({ name: 'prop', version: '1.0.0' });
              await mcp.connect(clientSide);
              try {
                const { tools } = await mcp.listTools();
                const listed = tools.map((t) => t.name).filter((n) => !n.startsWith('plexus.'));
                assert.deepEqual(listed.sort(), tree(byCalls));
              } finally {
                await mcp.close();
                await server.close();
              }
            }
          },
        ),
        { numRuns: 150 },
      );
      assert.ok(seenCounts.hidden > 20 && seenCounts.callable > 20, JSON.stringify(seenCounts));
    } finally {
      auth.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
