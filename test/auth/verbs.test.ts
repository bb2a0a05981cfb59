// Issue #21 item 2: every built-in method declares its verbs truthfully. The table
// below is the whole list; a method missing from it (or one it lists that is gone)
// fails the test, so a new method cannot silently default to `read`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinActivations } from '../../activations/index.js';
import { createOptional, OPTIONAL_ACTIVATIONS, type OptionalSet } from '../../activations/optional.js';
import { parseGrant } from '../../src/auth/grants.js';
import { TokenStore } from '../../src/auth/token-store.js';
import {
  type Activation,
  DynamicHub,
  HubAuth,
  PlexusClient,
  type PlexusServer,
  serveWebSocket,
  type StreamItem,
  type Verb,
} from '../../src/index.js';

const R: readonly Verb[] = ['read'];
const W: readonly Verb[] = ['write'];
const X: readonly Verb[] = ['execute'];

/**
 * Every method of the default and `--with` activations and of the root, by path.
 * Solar's bodies share one row per method (`solar.<body>.info`). The built-in
 * `schema` of every node is read-only and not listed.
 */
const EXPECTED: Record<string, readonly Verb[]> = {
  // root
  call: R, // the target's own verbs are checked when the call is routed
  hash: R,
  hashes: R,
  // default activations
  'echo.echo': R,
  'echo.once': R,
  'health.check': R,
  'solar.info': R,
  'solar.observe': R,
  'solar.<body>.info': R,
  // arbor
  'arbor.tree_create': W,
  'arbor.tree_get': R,
  'arbor.tree_get_skeleton': R,
  'arbor.tree_list': R,
  'arbor.tree_update_metadata': W,
  'arbor.tree_claim': W,
  'arbor.tree_release': W,
  'arbor.tree_list_scheduled': R,
  'arbor.tree_list_archived': R,
  'arbor.tree_render': R,
  'arbor.node_create_text': W,
  'arbor.node_create_external': W,
  'arbor.node_get': R,
  'arbor.node_get_children': R,
  'arbor.node_get_parent': R,
  'arbor.node_get_path': R,
  'arbor.context_list_leaves': R,
  'arbor.context_get_path': R,
  'arbor.context_get_handles': R,
  // changelog
  'changelog.add': W,
  'changelog.list': R,
  'changelog.get': R,
  'changelog.check': R,
  'changelog.queue_add': W,
  'changelog.queue_list': R,
  'changelog.queue_pending': R,
  'changelog.queue_get': R,
  'changelog.queue_complete': W,
  'changelog.changes': R,
  'changelog.watch': R,
  // mustache
  'mustache.render': R,
  'mustache.register_template': W,
  'mustache.list_templates': R,
  'mustache.get_template': R,
  'mustache.delete_template': W,
  // cone: chat spends LLM credit and writes the conversation
  'cone.create': W,
  'cone.get': R,
  'cone.list': R,
  'cone.delete': W,
  'cone.chat': W,
  'cone.set_head': W,
  'cone.registry': R,
  // bash
  'bash.execute': X,
  // claudecode: create fixes the directory a later turn runs in, so it is execute like chat
  'claudecode.create': X,
  'claudecode.get': R,
  'claudecode.list': R,
  'claudecode.delete': W,
  'claudecode.fork': W,
  'claudecode.get_tree': R,
  'claudecode.render_context': R,
  'claudecode.chat': X,
  'claudecode.chat_async': X,
  'claudecode.poll': R,
  'claudecode.streams': R,
  'claudecode.sessions_list': R,
  'claudecode.sessions_get': R,
  'claudecode.sessions_import': W,
  'claudecode.sessions_export': W,
  'claudecode.sessions_delete': W,
};

/** Each method's table key and declared verbs (absent means `read`), walking the whole tree. */
function declaredVerbs(hub: DynamicHub): Record<string, readonly Verb[]> {
  const out: Record<string, readonly Verb[]> = {};
  const visit = (node: Activation, path: string[]): void => {
    for (const m of node.methods()) {
      const segments = path[0] === 'solar' && path.length > 1 ? ['solar', '<body>'] : path;
      out[[...segments, m.name].join('.')] = m.verbs ?? ['read'];
    }
    for (const child of node.children?.() ?? []) visit(child, [...path, child.namespace]);
  };
  visit(hub, []);
  return out;
}

describe('verbs of every built-in method', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-verbs-'));
  let optional: OptionalSet;
  let hub: DynamicHub;

  before(async () => {
    optional = await createOptional(OPTIONAL_ACTIVATIONS, dir);
    hub = new DynamicHub('plexus').register(...builtinActivations(), ...optional.activations);
    await hub.ready();
  });
  after(() => {
    optional.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('match the table exactly: no method missing from it, none it lists gone, no verb wrong', () => {
    const declared = declaredVerbs(hub);
    const sorted = (r: Record<string, readonly Verb[]>) =>
      Object.fromEntries(
        Object.entries(r)
          .map(([k, v]) => [k, [...v].sort()] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    assert.deepEqual(sorted(declared), sorted(EXPECTED));
  });

  it('every method whose name says it changes something needs more than read', () => {
    const mutating = /(^|_)(create|update|delete|claim|release|register|chat|add|complete|set|fork|import|export|execute)(_|$)/;
    for (const [path, verbs] of Object.entries(declaredVerbs(hub))) {
      const name = path.split('.').at(-1)!;
      if (mutating.test(name)) assert.ok(!verbs.includes('read') || verbs.length > 1, `${path} declares only read`);
    }
  });
});

describe('a read grant on a storage activation cannot write, over a real WebSocket in required mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-verbs-ws-'));
  let optional: OptionalSet;
  let auth: HubAuth;
  let server: PlexusServer;
  let reader: string;

  before(async () => {
    const store = new TokenStore(dir);
    reader = store.create({ name: 'reader', hub: 'plexus', grants: [parseGrant('arbor.**:read'), parseGrant('cone.**:read')] }).token;
    optional = await createOptional(['arbor', 'cone'], join(dir, 'data'));
    auth = new HubAuth({ hub: 'plexus', dataDir: dir, mode: 'required', limiter: { burst: 1000 } });
    const hub = new DynamicHub('plexus', { policy: auth }).register(...optional.activations);
    await hub.ready();
    server = await serveWebSocket(hub, { port: 0 });
  });
  after(async () => {
    await server.close({ graceMs: 0 });
    auth.close();
    optional.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(path: string, params: Record<string, unknown> = {}): Promise<StreamItem[]> {
    const client = new PlexusClient({ url: server.url, connectAttempts: 1, token: reader });
    try {
      const out: StreamItem[] = [];
      for await (const item of client.call(path, params)) out.push(item);
      return out;
    } finally {
      client.close();
    }
  }
  const errorOf = (items: StreamItem[]) => items.find((i) => i.type === 'error') as { message: string } | undefined;
  const dataOf = (items: StreamItem[]) => (items.find((i) => i.type === 'data') as { content: unknown } | undefined)?.content;

  it('arbor: create, claim and release are refused; no tree was made', async () => {
    const tree = '00000000-0000-4000-8000-000000000000';
    for (const [path, params] of [
      ['arbor.tree_create', { owner_id: 'mallory' }],
      ['arbor.tree_claim', { tree_id: tree, owner_id: 'mallory', count: 1 }],
      ['arbor.tree_release', { tree_id: tree, owner_id: 'mallory', count: 1 }],
      ['arbor.node_create_text', { tree_id: tree, content: 'x' }],
    ] as const) {
      assert.equal(errorOf(await call(path, params))?.message, `Method not found: ${path}`, path);
    }
    assert.deepEqual(dataOf(await call('arbor.tree_list')), { type: 'tree_list', tree_ids: [] });
  });

  it('cone: create and chat are refused; no cone was made', async () => {
    assert.equal(errorOf(await call('cone.create', { name: 'c', model_id: 'any' }))?.message, 'Method not found: cone.create');
    assert.equal(errorOf(await call('cone.chat', { identifier: 'c', prompt: 'spend' }))?.message, 'Method not found: cone.chat');
    assert.deepEqual(dataOf(await call('cone.list')), { type: 'cone_list', cones: [] });
  });
});
