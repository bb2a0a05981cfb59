/**
 * A manifest as an activation, in process through the real hub, auth and MCP bridge:
 * child paths, schemas, verbs and health in the schema; the root hash changes on
 * install; skills as MCP tools, resources and prompts (SDK client); workflows under the
 * caller's grants (grant_required, cross-source only when approved, provenance); a
 * hidden capability looks exactly like a missing one; the semantic errors of a
 * transport (a test-only fake one in the table): source_unavailable before dispatch,
 * schema_validation_failed, transport_error; the host follows the store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ResourceListChangedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Echo } from '../../activations/echo.js';
import { ExtensionHost } from '../../activations/extension/host.js';
import type { ExtensionManifest } from '../../activations/extension/manifest.js';
import { transports } from '../../activations/extension/transports/index.js';
import type { ExtensionTransport, SourceHealth, TransportOptions } from '../../activations/extension/types.js';
import { validateManifest } from '../../activations/extension/validate.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import type { Principal } from '../../src/auth/principal.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, type PluginSchema, type StreamItem } from '../../src/index.js';
import { createMcpServer, ToolCatalog } from '../../src/mcp/index.js';
import { collect, eventually } from '../support/helpers.js';

const GUIDE = '# Knowledge base\n\nRead `kb.topics.intro` first, then ask.';

const KB: ExtensionManifest = {
  manifest: 'plexus-extension/0.1',
  source: 'kb',
  label: 'Knowledge base',
  describe: 'Guidance for the team knowledge base',
  capabilities: [
    { name: 'guide', kind: 'skill', describe: 'How to use the knowledge base', body: GUIDE },
    { name: 'topics.intro', kind: 'skill', describe: 'The introduction', body: 'Welcome.' },
    { name: 'tour', kind: 'workflow', describe: 'The intro, then the guide', members: ['kb.topics.intro', 'kb.guide'] },
    {
      name: 'shout',
      kind: 'workflow',
      describe: 'Echoes a message through echo.echo (another source)',
      io: { input: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } },
      members: ['echo.echo'],
    },
  ],
};

/** A test-only transport in the table's `cli` slot: its health and answers are set per test. */
const fake = {
  health: { status: 'ok', detail: 'fine' } as SourceHealth,
  items: [] as unknown[],
  fail: undefined as Error | undefined,
  /** What the last dispatch was handed. */
  last: undefined as { route: unknown; params: unknown; opts: TransportOptions & { signal: AbortSignal } } | undefined,
};
const FAKE: ExtensionTransport = {
  checkRoute: () => ({ reasons: [] }),
  approvalSurface: () => ({ bins: ['frob'] }),
  health: async () => fake.health,
  async *dispatch(route, params, opts) {
    fake.last = { route, params, opts };
    for (const item of fake.items) yield item;
    if (fake.fail) throw fake.fail;
  },
};

const TOOLS: ExtensionManifest = {
  manifest: 'plexus-extension/0.1',
  source: 'tools',
  transport: 'cli',
  capabilities: [
    {
      name: 'frob',
      describe: 'Frobs',
      grants: ['read'],
      route: {},
      io: { output: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } },
    },
    { name: 'help', kind: 'skill', describe: 'Help', body: 'Use frob.' },
  ],
};

let dir: string;
let hub: DynamicHub;
let auth: HubAuth;
let host: ExtensionHost;
let alice: Principal;
let owner: Principal;
let hashBefore: string;
/** The table's own `cli` transport (when this hub has one), put back after. */
let original: ExtensionTransport | undefined;

function install(manifest: ExtensionManifest, approved = validateManifest(manifest).surface): void {
  const v = validateManifest(manifest);
  assert.deepEqual(v.reasons, []);
  host.store.add(manifest, approved);
}

/** Changes the store and waits until the host has registered the new activation of `source`. */
async function reinstalled(source: string, change: () => void): Promise<void> {
  const old = hub.children().find((c) => c.namespace === source);
  change();
  await eventually(() => {
    const now = hub.children().find((c) => c.namespace === source);
    return now !== undefined && now !== old;
  }, 5000);
}

const errorOf = (items: StreamItem[]) =>
  items.find((i) => i.type === 'error') as (StreamItem & { type: 'error'; details?: unknown }) | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plexus-ext-'));
  const tokens = new TokenStore(dir);
  const a = tokens.create({
    name: 'alice',
    hub: 'plexus',
    grants: ['kb.tour:read', 'kb.topics.*:read', 'kb.shout:read', 'echo.*:read'].map((g) => parseGrant(g)),
  });
  const o = tokens.create({ name: 'owner', hub: 'plexus', grants: ['**:read'].map((g) => parseGrant(g)) });
  auth = new HubAuth({ hub: 'plexus', dataDir: dir });
  const principalOf = (token: string): Principal => {
    const r = auth.authenticate(token, 'test', 'test');
    assert.ok(r.ok);
    return r.principal;
  };
  alice = principalOf(a.token);
  owner = principalOf(o.token);
  hub = new DynamicHub('plexus', { policy: auth });
  hub.register(new Echo());
  await hub.ready();
  hashBefore = hub.hash();
  original = transports.cli;
  (transports as Record<string, ExtensionTransport>).cli = FAKE;
  host = new ExtensionHost(hub, {
    dataDir: dir,
    transport: { secrets: { get: () => undefined } },
    pollMs: 50,
    healthTtlMs: 0,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  install(KB);
  await host.start();
});

after(() => {
  host.close();
  auth.close();
  if (original) transports.cli = original;
  else delete (transports as Record<string, ExtensionTransport>).cli;
  rmSync(dir, { recursive: true, force: true });
});

describe('a manifest as an activation', () => {
  it('capabilities are methods at their child paths, with describe, io.input and grants; health is in the schema', async () => {
    const kb = (await hub.schema('kb', { principal: owner })) as PluginSchema;
    assert.equal(kb.description, 'Guidance for the team knowledge base');
    assert.deepEqual(kb.health, { status: 'ok', detail: 'every capability is ready' });
    assert.deepEqual(
      kb.methods.map((m) => m.name),
      ['guide', 'tour', 'shout', 'schema'],
    );
    assert.deepEqual(
      kb.children?.map((c) => c.namespace),
      ['topics'],
    );
    const shout = kb.methods.find((m) => m.name === 'shout')!;
    assert.deepEqual(shout.params, KB.capabilities[3]!.io!.input);
    assert.deepEqual(shout.verbs, ['read']);
    assert.equal(shout.description, 'Echoes a message through echo.echo (another source)');
    const items = await collect(hub.call('kb.topics.intro', {}, { principal: owner }));
    assert.deepEqual(
      items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content),
      ['Welcome.'],
    );
  });

  it('the root hash changes on install', () => {
    assert.notEqual(hub.hash(), hashBefore);
  });
});

describe('skills over MCP (SDK client): tools, resources and prompts, filtered like tools', () => {
  async function client(principal: Principal): Promise<Client> {
    const server = createMcpServer(new ToolCatalog(hub), { principal });
    const [c, s] = InMemoryTransport.createLinkedPair();
    await server.connect(s);
    const mcp = new Client({ name: 'test', version: '1' });
    await mcp.connect(c);
    return mcp;
  }

  it('a skill is a tool, a resource and a prompt', async () => {
    const mcp = await client(owner);
    const tools = (await mcp.listTools()).tools;
    const guide = tools.find((t) => t.title === 'kb.guide');
    assert.ok(guide, 'kb.guide is a tool');
    assert.equal(guide.description, 'How to use the knowledge base');
    const resources = (await mcp.listResources()).resources;
    assert.deepEqual(
      resources.map((r) => r.uri),
      ['plexus:kb.guide', 'plexus:kb.topics.intro'],
    );
    assert.equal(resources[0]!.mimeType, 'text/markdown');
    const read = await mcp.readResource({ uri: 'plexus:kb.guide' });
    assert.deepEqual(read.contents, [{ uri: 'plexus:kb.guide', mimeType: 'text/markdown', text: GUIDE }]);
    const prompts = (await mcp.listPrompts()).prompts;
    assert.deepEqual(
      prompts.map((p) => p.name),
      ['kb.guide', 'kb.topics.intro'],
    );
    const prompt = await mcp.getPrompt({ name: 'kb.guide' });
    assert.deepEqual(prompt.messages, [{ role: 'user', content: { type: 'text', text: GUIDE } }]);
    await mcp.close();
  });

  it('a skill the principal may not see is neither listed nor readable, exactly like a missing one', async () => {
    const mcp = await client(alice);
    assert.deepEqual(
      (await mcp.listResources()).resources.map((r) => r.uri),
      ['plexus:kb.topics.intro'],
    );
    assert.deepEqual(
      (await mcp.listPrompts()).prompts.map((p) => p.name),
      ['kb.topics.intro'],
    );
    const hidden = await mcp.readResource({ uri: 'plexus:kb.guide' }).catch((e: Error) => e.message);
    const missing = await mcp.readResource({ uri: 'plexus:kb.nothing' }).catch((e: Error) => e.message);
    assert.equal(hidden, String(missing).replace('kb.nothing', 'kb.guide'));
    const hiddenPrompt = await mcp.getPrompt({ name: 'kb.guide' }).catch((e: Error) => e.message);
    assert.match(String(hiddenPrompt), /Unknown prompt: kb\.guide/);
    await mcp.close();
  });

  it('an install fires tools/list_changed and resources/list_changed', async () => {
    const mcp = await client(owner);
    let tools = 0;
    let resources = 0;
    mcp.setNotificationHandler(ToolListChangedNotificationSchema, () => void tools++);
    mcp.setNotificationHandler(ResourceListChangedNotificationSchema, () => void resources++);
    install({
      manifest: 'plexus-extension/0.1',
      source: 'extra',
      capabilities: [{ name: 'tip', kind: 'skill', describe: 'A tip', body: 'tip' }],
    });
    await eventually(() => tools > 0 && resources > 0, 5000);
    assert.ok((await mcp.listResources()).resources.some((r) => r.uri === 'plexus:extra.tip'));
    host.store.remove('extra');
    await eventually(() => !hub.children().some((c) => c.namespace === 'extra'), 5000);
    await mcp.close();
  });
});

describe('workflows run under the caller', () => {
  it('members run in order with provenance; a member the caller cannot call is grant_required, naming it', async () => {
    const items = await collect(hub.call('kb.tour', {}, { principal: alice }));
    const data = items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content);
    assert.deepEqual(data, [{ member: 'kb.topics.intro', step: 0, data: 'Welcome.' }]);
    const error = errorOf(items);
    assert.equal(error?.code, 'grant_required');
    assert.match(
      error!.message,
      /kb\.guide \(step 2\) is not available to you: it runs under your own grants; ask the hub's owner for a grant on kb\.guide/,
    );
    assert.deepEqual((error!.details as { member: string }).member, 'kb.guide');
    const full = await collect(hub.call('kb.tour', {}, { principal: owner }));
    assert.equal(errorOf(full), undefined);
    assert.equal(full.filter((i) => i.type === 'data').length, 2);
  });

  it('a cross-source member runs when the install approved it, with the params its schema names', async () => {
    const items = await collect(hub.call('kb.shout', { message: 'hi' }, { principal: alice }));
    assert.equal(errorOf(items), undefined);
    assert.deepEqual(
      items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content),
      [{ member: 'echo.echo', step: 0, data: { message: 'hi', seq: 1 } }],
    );
  });

  it('a cross-source member the install did not approve is refused, saying so', async () => {
    const record = host.store.get('kb')!;
    await reinstalled('kb', () => host.store.add(record.manifest, { ...record.approved, crossSource: [] }));
    let error = errorOf(await collect(hub.call('kb.shout', { message: 'hi' }, { principal: alice })));
    assert.equal(error?.code, 'grant_required');
    assert.match(error!.message, /echo\.echo is in another source and its install did not approve that attach/);
    await reinstalled('kb', () => host.store.add(record.manifest, record.approved));
    error = errorOf(await collect(hub.call('kb.shout', { message: 'hi' }, { principal: alice })));
    assert.equal(error, undefined);
  });

  it('a capability the caller may not see fails exactly like a missing one', async () => {
    const hidden = errorOf(await collect(hub.call('kb.guide', {}, { principal: alice })));
    const missing = errorOf(await collect(hub.call('kb.nothing', {}, { principal: alice })));
    assert.ok(hidden && missing);
    assert.equal(hidden.code, missing.code);
    assert.equal(hidden.message, missing.message.replace('kb.nothing', 'kb.guide'));
  });
});

describe('semantic errors of a transport (a fake one in the table)', () => {
  before(async () => {
    install(TOOLS);
    await eventually(() => hub.children().some((c) => c.namespace === 'tools'), 5000);
  });

  it('an unavailable capability fails at once with source_unavailable naming what is missing; the source is degraded', async () => {
    fake.health = { status: 'unavailable', detail: 'binary frob is not on PATH' };
    fake.items = [{ n: 1 }];
    const error = errorOf(await collect(hub.call('tools.frob', {}, { principal: owner })));
    assert.equal(error?.code, 'source_unavailable');
    assert.equal(error!.message, 'tools.frob is unavailable: binary frob is not on PATH');
    const health = (await host.checkHealth()).tools!;
    assert.equal(health.status, 'degraded');
    assert.equal(health.detail, 'tools.frob: binary frob is not on PATH');
    assert.deepEqual(((await hub.schema('tools', { principal: owner })) as PluginSchema).health, health);
    // The skill beside it still answers.
    assert.equal(errorOf(await collect(hub.call('tools.help', {}, { principal: owner }))), undefined);
    fake.health = { status: 'ok', detail: 'fine' };
  });

  it('an item its io.output refuses is schema_validation_failed; a transport failure is transport_error', async () => {
    fake.items = [{ n: 1 }, { n: 'two' }];
    let items = await collect(hub.call('tools.frob', {}, { principal: owner }));
    assert.equal(items.filter((i) => i.type === 'data').length, 1);
    assert.equal(errorOf(items)?.code, 'schema_validation_failed');
    assert.match(errorOf(items)!.message, /tools\.frob answered an item its io\.output schema refuses \(\/n must be integer\)/);
    fake.items = [];
    fake.fail = new Error('connection refused');
    items = await collect(hub.call('tools.frob', {}, { principal: owner }));
    assert.equal(errorOf(items)?.code, 'transport_error');
    assert.equal(errorOf(items)!.message, 'tools.frob: connection refused');
    fake.fail = undefined;
  });

  it("the transport gets its route, the validated params, the store's secrets and only the hosts the install approved", async () => {
    fake.items = [{ n: 1 }];
    assert.equal(errorOf(await collect(hub.call('tools.frob', {}, { principal: owner }))), undefined);
    assert.deepEqual(fake.last?.route, {});
    assert.deepEqual(fake.last?.opts.approvedHosts, []);
    assert.equal(fake.last?.opts.secrets.get('ANY'), undefined);
    assert.ok(fake.last?.opts.signal instanceof AbortSignal);
    // The surface a preview shows comes from the transport's approvalSurface.
    assert.deepEqual(validateManifest(TOOLS).surface.bins, ['frob']);
  });

  it('a declared health capability decides the source: its status, or unavailable when it fails (then every call fails at once)', async () => {
    const checked: ExtensionManifest = {
      manifest: 'plexus-extension/0.1',
      source: 'svc',
      transport: 'cli',
      health: 'status',
      capabilities: [
        { name: 'status', describe: 'Is the service up?', route: {} },
        { name: 'work', describe: 'Does work', route: {} },
      ],
    };
    fake.items = [{ status: 'degraded', detail: 'disk 95% full' }];
    install(checked);
    await eventually(() => hub.children().some((c) => c.namespace === 'svc'), 5000);
    assert.deepEqual((await host.checkHealth()).svc, { status: 'degraded', detail: 'disk 95% full' });
    fake.items = [];
    fake.fail = new Error('connect ECONNREFUSED 127.0.0.1:4555');
    assert.deepEqual((await host.checkHealth()).svc, {
      status: 'unavailable',
      detail: 'svc.status failed: connect ECONNREFUSED 127.0.0.1:4555',
    });
    const error = errorOf(await collect(hub.call('svc.work', {}, { principal: owner })));
    assert.equal(error?.code, 'source_unavailable');
    assert.equal(error!.message, 'svc.work is unavailable: svc.status failed: connect ECONNREFUSED 127.0.0.1:4555');
    fake.fail = undefined;
    host.store.remove('svc');
    await eventually(() => !hub.children().some((c) => c.namespace === 'svc'), 5000);
  });

  it('a broken store file is skipped and the rest still load', async () => {
    writeFileSync(join(host.store.dir, 'broken.json'), '{ nope');
    assert.deepEqual(
      host.store.list().broken.map((b) => b.source),
      ['broken'],
    );
    await host.sync();
    assert.ok(hub.children().some((c) => c.namespace === 'kb'));
    rmSync(join(host.store.dir, 'broken.json'));
  });
});
