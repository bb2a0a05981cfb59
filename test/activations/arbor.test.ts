import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub, PlexusClient, PlexusError, serveWebSocket, type PlexusServer } from '../../src/index.js';
import { Arbor, ArborError, type Handle, type Node, type Tree } from '../../activations/arbor/index.js';
import { openDatabase } from '../../activations/storage/index.js';
import { eventually } from '../support/helpers.js';

const DAY = 86_400_000;
const MISSING = '00000000-0000-4000-8000-000000000000';
const CONE = '11429815-0a5e-5fcc-baf2-842ab3666e77';
const handle = (n: number): Handle => ({ plugin_id: CONE, version: '1.0.0', method: 'chat', meta: [`msg-${n}`, 'user', 'user'] });

/** A fake clock the tests move. */
function fakeClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now += ms), seconds: () => Math.floor(now / 1000) };
}

type Outcome = { content?: any; error?: { code?: string; message: string } };

function harness(options: ConstructorParameters<typeof Arbor>[0] = {}) {
  const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0, ...options });
  const hub = new DynamicHub().register(arbor);
  /** One call: its data content, or its error item. */
  const call = async (method: string, params: Record<string, unknown> = {}): Promise<Outcome> => {
    const out: Outcome = {};
    for await (const item of hub.call(`arbor.${method}`, params)) {
      if (item.type === 'data') out.content = item.content;
      if (item.type === 'error') out.error = { code: item.code, message: item.message };
    }
    return out;
  };
  const ok = async (method: string, params: Record<string, unknown> = {}) => {
    const r = await call(method, params);
    assert.equal(r.error, undefined, `${method} failed: ${r.error?.message}`);
    return r.content;
  };
  const fails = async (method: string, params: Record<string, unknown>, code: string, message?: RegExp | string) => {
    const r = await call(method, params);
    assert.ok(r.error, `${method} should fail with ${code}`);
    assert.equal(r.error.code, code);
    if (typeof message === 'string') assert.equal(r.error.message, message);
    else if (message) assert.match(r.error.message, message);
  };
  const newTree = async (owner = 'alice', metadata?: unknown) => {
    const { tree_id } = await ok('tree_create', { owner_id: owner, ...(metadata !== undefined ? { metadata } : {}) });
    const { tree } = await ok('tree_get', { tree_id });
    return { tree_id: tree_id as string, root: (tree as Tree).root };
  };
  const text = async (tree_id: string, parent: string | null, content: string) =>
    (await ok('node_create_text', { tree_id, parent, content })).node_id as string;
  return { arbor, hub, call, ok, fails, newTree, text };
}

describe('arbor: trees', () => {
  let h: ReturnType<typeof harness>;
  let t: ReturnType<typeof fakeClock>;
  beforeEach(() => {
    h?.arbor.close();
    t = fakeClock();
    h = harness({ clock: t.clock });
  });
  after(() => h.arbor.close());

  it('tree_create makes an active tree with an empty root text node and one reference for the owner', async () => {
    const created = await h.ok('tree_create', { owner_id: 'alice', metadata: { name: 'chat' } });
    assert.equal(created.type, 'tree_created');
    assert.match(created.tree_id, /^[0-9a-f-]{36}$/);
    const { tree } = await h.ok('tree_get', { tree_id: created.tree_id });
    const root: Node = tree.nodes[tree.root];
    assert.deepEqual(Object.keys(tree.nodes), [tree.root]);
    assert.deepEqual(root, {
      id: tree.root,
      parent: null,
      children: [],
      data: { type: 'text', content: '' },
      state: 'active',
      refs: { ref_count: 1, owners: {} },
      created_at: t.seconds(),
    });
    assert.deepEqual(tree, {
      id: created.tree_id,
      root: tree.root,
      nodes: tree.nodes,
      state: 'active',
      refs: { ref_count: 1, owners: { alice: 1 } },
      created_at: t.seconds(),
      updated_at: t.seconds(),
      metadata: { name: 'chat' },
    });
  });

  it('tree_create: owner_id is required (the reference applies no default)', async () => {
    await h.fails('tree_create', {}, '-32602', "Invalid params: missing required param 'owner_id'");
  });

  it('tree_get: unknown tree, malformed id, archived tree', async () => {
    await h.fails('tree_get', { tree_id: MISSING }, 'arbor.tree_not_found', `Tree not found: ${MISSING}`);
    await h.fails('tree_get', { tree_id: 'not-a-uuid' }, '-32602', /param 'tree_id' must be a UUID/);
    const { tree_id } = await h.newTree();
    await h.ok('tree_release', { tree_id, owner_id: 'alice', count: 1 });
    t.advance(8 * DAY);
    h.arbor.sweep();
    await h.fails('tree_get', { tree_id }, 'arbor.invalid_state', `Tree ${tree_id} is archived`);
    assert.equal(h.arbor.storage.treeGetArchived(tree_id).state, 'archived');
  });

  it('tree_get accepts upper-case ids and answers with the lower-case form', async () => {
    const { tree_id } = await h.newTree();
    const { tree } = await h.ok('tree_get', { tree_id: tree_id.toUpperCase() });
    assert.equal(tree.id, tree_id);
  });

  it('tree_get_skeleton: structure and node types without content', async () => {
    const { tree_id, root } = await h.newTree();
    const a = await h.text(tree_id, root, 'secret text');
    const { node_id: b } = await h.ok('node_create_external', { tree_id, parent: a, handle: handle(1) });
    const { skeleton } = await h.ok('tree_get_skeleton', { tree_id });
    assert.deepEqual(skeleton, {
      id: tree_id,
      root,
      state: 'active',
      nodes: {
        [root]: { id: root, parent: null, children: [a], node_type: 'text' },
        [a]: { id: a, parent: root, children: [b], node_type: 'text' },
        [b]: { id: b, parent: a, children: [], node_type: 'external' },
      },
    });
    assert.doesNotMatch(JSON.stringify(skeleton), /secret/);
    await h.fails('tree_get_skeleton', { tree_id: MISSING }, 'arbor.tree_not_found');
  });

  it('tree_list lists active trees only, oldest first', async () => {
    const a = await h.newTree();
    t.advance(1000);
    const b = await h.newTree();
    assert.deepEqual((await h.ok('tree_list')).tree_ids, [a.tree_id, b.tree_id]);
    await h.ok('tree_release', { tree_id: a.tree_id, owner_id: 'alice', count: 1 });
    assert.deepEqual(await h.ok('tree_list'), { type: 'tree_list', tree_ids: [b.tree_id] });
  });

  it('tree_update_metadata replaces the metadata and bumps updated_at', async () => {
    const { tree_id } = await h.newTree('alice', { v: 1 });
    t.advance(5000);
    assert.deepEqual(await h.ok('tree_update_metadata', { tree_id, metadata: { v: 2 } }), { type: 'tree_updated', tree_id });
    const { tree } = await h.ok('tree_get', { tree_id });
    assert.deepEqual(tree.metadata, { v: 2 });
    assert.equal(tree.updated_at, tree.created_at + 5);
  });

  it('tree_update_metadata errors: unknown tree (the reference silently succeeded), archived tree, metadata missing', async () => {
    await h.fails('tree_update_metadata', { tree_id: MISSING, metadata: {} }, 'arbor.tree_not_found');
    const { tree_id } = await h.newTree();
    await h.fails('tree_update_metadata', { tree_id }, '-32602', "Invalid params: missing required param 'metadata'");
    await h.ok('tree_release', { tree_id, owner_id: 'alice', count: 1 });
    t.advance(8 * DAY);
    h.arbor.sweep();
    await h.fails('tree_update_metadata', { tree_id, metadata: {} }, 'arbor.invalid_state');
  });

  it('tree_claim adds references per owner and reactivates a tree scheduled for deletion', async () => {
    const { tree_id } = await h.newTree();
    assert.deepEqual(await h.ok('tree_claim', { tree_id, owner_id: 'bob', count: 2 }), {
      type: 'tree_claimed',
      tree_id,
      owner_id: 'bob',
      new_count: 3,
    });
    assert.equal((await h.ok('tree_claim', { tree_id, owner_id: 'alice', count: 1 })).new_count, 4);
    assert.deepEqual((await h.ok('tree_get', { tree_id })).tree.refs, { ref_count: 4, owners: { alice: 2, bob: 2 } });

    const other = await h.newTree('carol');
    await h.ok('tree_release', { tree_id: other.tree_id, owner_id: 'carol', count: 1 });
    assert.deepEqual((await h.ok('tree_list_scheduled')).tree_ids, [other.tree_id]);
    assert.equal((await h.ok('tree_claim', { tree_id: other.tree_id, owner_id: 'dave', count: 1 })).new_count, 1);
    const { tree } = await h.ok('tree_get', { tree_id: other.tree_id });
    assert.equal(tree.state, 'active');
    assert.equal(tree.scheduled_deletion_at, undefined);
    assert.deepEqual((await h.ok('tree_list_scheduled')).tree_ids, []);
  });

  it('tree_claim errors: unknown tree, archived tree, a count that is not a positive integer', async () => {
    await h.fails('tree_claim', { tree_id: MISSING, owner_id: 'bob', count: 1 }, 'arbor.tree_not_found');
    const { tree_id } = await h.newTree();
    await h.fails('tree_claim', { tree_id, owner_id: 'bob', count: 0 }, '-32602', /param 'count' must be a positive integer/);
    await h.fails('tree_claim', { tree_id, owner_id: 'bob', count: 1.5 }, '-32602', /positive integer/);
    await h.fails('tree_claim', { tree_id, owner_id: 'bob' }, '-32602', "Invalid params: missing required param 'count'");
    await h.ok('tree_release', { tree_id, owner_id: 'alice', count: 1 });
    t.advance(8 * DAY);
    h.arbor.sweep();
    await h.fails('tree_claim', { tree_id, owner_id: 'bob', count: 1 }, 'arbor.invalid_state', `Cannot claim archived tree ${tree_id}`);
  });

  it('tree_release removes references; at zero the tree is scheduled for deletion', async () => {
    const { tree_id } = await h.newTree();
    await h.ok('tree_claim', { tree_id, owner_id: 'bob', count: 2 });
    assert.deepEqual(await h.ok('tree_release', { tree_id, owner_id: 'bob', count: 2 }), {
      type: 'tree_released',
      tree_id,
      owner_id: 'bob',
      new_count: 1,
    });
    assert.deepEqual((await h.ok('tree_get', { tree_id })).tree.refs, { ref_count: 1, owners: { alice: 1 } });
    t.advance(1000);
    assert.equal((await h.ok('tree_release', { tree_id, owner_id: 'alice', count: 1 })).new_count, 0);
    const { tree } = await h.ok('tree_get', { tree_id });
    assert.equal(tree.state, 'scheduled_delete');
    assert.equal(tree.scheduled_deletion_at, t.seconds());
    assert.deepEqual(tree.refs, { ref_count: 0, owners: {} });
  });

  it('tree_release errors: unknown tree, owner without references, more than the owner holds, bad count', async () => {
    await h.fails('tree_release', { tree_id: MISSING, owner_id: 'alice', count: 1 }, 'arbor.tree_not_found');
    const { tree_id } = await h.newTree();
    await h.fails(
      'tree_release',
      { tree_id, owner_id: 'mallory', count: 1 },
      'arbor.storage_error',
      'Storage error during tree_release: No reference found for owner mallory',
    );
    await h.fails(
      'tree_release',
      { tree_id, owner_id: 'alice', count: 2 },
      'arbor.storage_error',
      'Storage error during tree_release: Cannot release 2 references, owner only has 1',
    );
    await h.fails('tree_release', { tree_id, owner_id: 'alice', count: -1 }, '-32602');
    assert.equal((await h.ok('tree_get', { tree_id })).tree.refs.ref_count, 1, 'failed releases change nothing');
  });

  it('tree_list, tree_list_scheduled, tree_list_archived take no params: an unknown one is -32602', async () => {
    for (const m of ['tree_list', 'tree_list_scheduled', 'tree_list_archived']) {
      await h.fails(m, { state: 'active' }, '-32602', "Invalid params: unknown param 'state'");
    }
  });

  it('tree_list_scheduled and tree_list_archived return exactly those sets (the reference returned active + scheduled for both)', async () => {
    const active = await h.newTree();
    const scheduled = await h.newTree();
    const archived = await h.newTree();
    await h.ok('tree_release', { tree_id: archived.tree_id, owner_id: 'alice', count: 1 });
    t.advance(8 * DAY);
    h.arbor.sweep();
    await h.ok('tree_release', { tree_id: scheduled.tree_id, owner_id: 'alice', count: 1 });
    assert.deepEqual(await h.ok('tree_list_scheduled'), { type: 'trees_scheduled', tree_ids: [scheduled.tree_id] });
    assert.deepEqual(await h.ok('tree_list_archived'), { type: 'trees_archived', tree_ids: [archived.tree_id] });
    assert.deepEqual((await h.ok('tree_list')).tree_ids, [active.tree_id]);
  });
});

describe('arbor: nodes and context', () => {
  let h: ReturnType<typeof harness>;
  before(() => (h = harness()));
  after(() => h.arbor.close());

  it('node_create_text appends children in order; Node.children keeps creation order', async () => {
    const { tree_id, root } = await h.newTree();
    const created = await h.ok('node_create_text', { tree_id, parent: root, content: 'first', metadata: { role: 'user' } });
    assert.deepEqual(Object.keys(created), ['type', 'tree_id', 'node_id', 'parent']);
    assert.equal(created.parent, root);
    const ids = [created.node_id];
    for (let i = 0; i < 5; i++) ids.push(await h.text(tree_id, root, `n${i}`));
    const { node } = await h.ok('node_get', { tree_id, node_id: root });
    assert.deepEqual(node.children, ids);
    const first = (await h.ok('node_get', { tree_id, node_id: ids[0] })).node;
    assert.deepEqual(first.data, { type: 'text', content: 'first' });
    assert.deepEqual(first.metadata, { role: 'user' });
  });

  it('node_create_text with no parent makes a parentless node (as in the reference)', async () => {
    const { tree_id, root } = await h.newTree();
    const created = await h.ok('node_create_text', { tree_id, content: 'loose' });
    assert.equal(created.parent, null);
    assert.deepEqual((await h.ok('node_get_path', { tree_id, node_id: created.node_id })).path, [created.node_id]);
    assert.deepEqual((await h.ok('node_get', { tree_id, node_id: root })).node.children, []);
    assert.equal((await h.ok('node_create_text', { tree_id, content: 'null parent', parent: null })).parent, null);
  });

  it('node_create_text errors: unknown tree, unknown parent, a parent from another tree, archived tree, bad ids', async () => {
    const { tree_id, root } = await h.newTree();
    const other = await h.newTree();
    await h.fails('node_create_text', { tree_id: MISSING, content: 'x' }, 'arbor.tree_not_found');
    await h.fails(
      'node_create_text',
      { tree_id, parent: MISSING, content: 'x' },
      'arbor.node_not_found',
      `Node not found: ${MISSING} in tree ${tree_id}`,
    );
    await h.fails('node_create_text', { tree_id: other.tree_id, parent: root, content: 'x' }, 'arbor.node_not_found');
    await h.fails('node_create_text', { tree_id, parent: 'abc', content: 'x' }, '-32602', /param 'parent' must be a UUID/);
    await h.fails('node_create_text', { tree_id }, '-32602', "Invalid params: missing required param 'content'");
    const t = fakeClock();
    const h2 = harness({ clock: t.clock });
    try {
      const gone = await h2.newTree();
      await h2.ok('tree_release', { tree_id: gone.tree_id, owner_id: 'alice', count: 1 });
      t.advance(8 * DAY);
      h2.arbor.sweep();
      await h2.fails('node_create_text', { tree_id: gone.tree_id, parent: gone.root, content: 'x' }, 'arbor.invalid_state');
    } finally {
      h2.arbor.close();
    }
    assert.deepEqual((await h.ok('node_get', { tree_id, node_id: root })).node.children, [], 'failed creates leave nothing behind');
  });

  it('node_create_external stores the handle; meta is omitted when empty', async () => {
    const { tree_id, root } = await h.newTree();
    const { node_id } = await h.ok('node_create_external', { tree_id, parent: root, handle: handle(7), metadata: { k: 1 } });
    const { node } = await h.ok('node_get', { tree_id, node_id });
    assert.deepEqual(node.data, { type: 'external', handle: handle(7) });
    const bare = await h.ok('node_create_external', {
      tree_id,
      parent: node_id,
      handle: { plugin_id: CONE, version: '1.0.0', method: 'chat' },
    });
    assert.deepEqual((await h.ok('node_get', { tree_id, node_id: bare.node_id })).node.data.handle, {
      plugin_id: CONE,
      version: '1.0.0',
      method: 'chat',
    });
  });

  it('node_create_external errors: unknown tree, unknown parent, handle without method, handle plugin_id not a UUID', async () => {
    const { tree_id, root } = await h.newTree();
    await h.fails('node_create_external', { tree_id: MISSING, handle: handle(1) }, 'arbor.tree_not_found');
    await h.fails('node_create_external', { tree_id, parent: MISSING, handle: handle(1) }, 'arbor.node_not_found');
    await h.fails('node_create_external', { tree_id, parent: root, handle: { plugin_id: CONE, version: '1.0.0' } }, '-32602', /method/);
    await h.fails(
      'node_create_external',
      { tree_id, parent: root, handle: { ...handle(1), plugin_id: 'cone' } },
      '-32602',
      /handle\.plugin_id/,
    );
  });

  it('node_get: a node, and errors for an unknown node, a node of another tree, an unknown tree', async () => {
    const { tree_id, root } = await h.newTree();
    const other = await h.newTree();
    assert.equal((await h.ok('node_get', { tree_id, node_id: root })).type, 'node_data');
    await h.fails('node_get', { tree_id, node_id: MISSING }, 'arbor.node_not_found', `Node not found: ${MISSING} in tree ${tree_id}`);
    await h.fails('node_get', { tree_id: other.tree_id, node_id: root }, 'arbor.node_not_found');
    await h.fails('node_get', { tree_id: MISSING, node_id: root }, 'arbor.node_not_found');
    await h.fails('node_get', { tree_id, node_id: 'x' }, '-32602');
  });

  it('node_get_children lists active children in order, without ephemeral ones', async () => {
    const { tree_id, root } = await h.newTree();
    const a = await h.text(tree_id, root, 'a');
    h.arbor.storage.nodeCreateExternalEphemeral(tree_id, root, handle(2));
    const b = await h.text(tree_id, root, 'b');
    assert.deepEqual(await h.ok('node_get_children', { tree_id, node_id: root }), {
      type: 'node_children',
      tree_id,
      node_id: root,
      children: [a, b],
    });
    assert.equal((await h.ok('node_get', { tree_id, node_id: root })).node.children.length, 3, 'Node.children includes the ephemeral one');
    await h.fails('node_get_children', { tree_id, node_id: MISSING }, 'arbor.node_not_found');
  });

  it('node_get_parent: parent id, null for the root, error for an unknown node', async () => {
    const { tree_id, root } = await h.newTree();
    const a = await h.text(tree_id, root, 'a');
    assert.deepEqual(await h.ok('node_get_parent', { tree_id, node_id: a }), { type: 'node_parent', tree_id, node_id: a, parent: root });
    assert.equal((await h.ok('node_get_parent', { tree_id, node_id: root })).parent, null);
    await h.fails('node_get_parent', { tree_id, node_id: MISSING }, 'arbor.node_not_found');
  });

  it('node_get_path / context_get_path / context_get_handles: root first, down to the node', async () => {
    const { tree_id, root } = await h.newTree();
    const a = await h.text(tree_id, root, 'a');
    const { node_id: b } = await h.ok('node_create_external', { tree_id, parent: a, handle: handle(1) });
    const c = await h.text(tree_id, b, 'c');
    const { node_id: d } = await h.ok('node_create_external', { tree_id, parent: c, handle: handle(2) });
    await h.text(tree_id, root, 'side branch');
    assert.deepEqual(await h.ok('node_get_path', { tree_id, node_id: d }), { type: 'context_path', tree_id, path: [root, a, b, c, d] });
    const data = await h.ok('context_get_path', { tree_id, node_id: c });
    assert.equal(data.type, 'context_path_data');
    assert.deepEqual(
      data.nodes.map((n: Node) => n.id),
      [root, a, b, c],
    );
    assert.deepEqual(data.nodes[3].children, [d]);
    assert.deepEqual(data.nodes[0], (await h.ok('node_get', { tree_id, node_id: root })).node);
    assert.deepEqual(await h.ok('context_get_handles', { tree_id, node_id: d }), {
      type: 'context_handles',
      tree_id,
      handles: [handle(1), handle(2)],
    });
    for (const m of ['node_get_path', 'context_get_path', 'context_get_handles']) {
      await h.fails(m, { tree_id, node_id: MISSING }, 'arbor.node_not_found');
      await h.fails(m, { tree_id: MISSING, node_id: root }, 'arbor.node_not_found');
    }
  });

  it('context_list_leaves: active nodes without children; unknown tree is an error', async () => {
    const { tree_id, root } = await h.newTree();
    const a = await h.text(tree_id, root, 'a');
    const b = await h.text(tree_id, a, 'b');
    const c = await h.text(tree_id, root, 'c');
    assert.deepEqual(await h.ok('context_list_leaves', { tree_id }), { type: 'context_leaves', tree_id, leaves: [b, c] });
    await h.fails('context_list_leaves', { tree_id: MISSING }, 'arbor.tree_not_found');
  });
});

describe('arbor: tree_render', () => {
  let h: ReturnType<typeof harness>;
  before(() => (h = harness()));
  after(() => h.arbor.close());

  it('draws the tree like the reference: empty root line, box branches, 60-character labels, ↵ for newlines', async () => {
    const { tree_id, root } = await h.newTree();
    const a = await h.text(tree_id, root, 'hello\nworld');
    await h.text(tree_id, a, 'x'.repeat(61));
    await h.text(tree_id, a, 'y'.repeat(60));
    const { node_id } = await h.ok('node_create_external', { tree_id, parent: root, handle: handle(3) });
    await h.text(tree_id, node_id, 'é'.repeat(70));
    const { render } = await h.ok('tree_render', { tree_id });
    assert.equal(
      render,
      [
        '└── ',
        '    ├── hello↵world',
        `    │   ├── ${'x'.repeat(57)}...`,
        `    │   └── ${'y'.repeat(60)}`,
        `    └── [${CONE}@1.0.0::chat:msg-3:user:user]`,
        // Cut on characters: the reference's byte slicing would panic inside "é".
        `        └── ${'é'.repeat(57)}...`,
        '',
      ].join('\n'),
    );
  });

  it('resolves external nodes through registered handle resolvers', async () => {
    const { tree_id, root } = await h.newTree();
    const other = '51b330e5-ed88-5fe2-8b58-0c57f2b02ab3';
    const nodes = [
      handle(1),
      { ...handle(2), meta: ['fail'] },
      { ...handle(3), meta: ['empty'] },
      { ...handle(4), meta: ['typed'] },
      { ...handle(5), meta: ['json'] },
      { plugin_id: other, version: '1.0.0', method: 'chat' },
    ];
    for (const hd of nodes) await h.ok('node_create_external', { tree_id, parent: root, handle: hd });
    const off = h.arbor.registerHandleResolver(CONE, async (hd) => {
      switch (hd.meta?.[0]) {
        case 'fail':
          throw new Error('message gone');
        case 'empty':
          return undefined;
        case 'typed':
          return { type: 'tool_use' };
        case 'json':
          return { n: 'z'.repeat(80) };
        default:
          return { role: 'user', name: 'ada', content: 'hi\nthere' };
      }
    });
    try {
      const { render } = await h.ok('tree_render', { tree_id });
      assert.deepEqual(render.split('\n'), [
        '└── ',
        '    ├── [user:ada] hi↵there',
        '    ├── [error: message gone]',
        `    ├── [empty: ${CONE}@1.0.0::chat:empty]`,
        '    ├── [tool_use]',
        `    ├── ${JSON.stringify({ n: 'z'.repeat(80) }).slice(0, 47)}...`,
        `    └── [unresolved: chat - Activation not found: ${other}]`,
        '',
      ]);
    } finally {
      off();
    }
  });

  it('errors: unknown tree, malformed id', async () => {
    await h.fails('tree_render', { tree_id: MISSING }, 'arbor.tree_not_found');
    await h.fails('tree_render', { tree_id: '' }, '-32602');
  });
});

describe('arbor: retention sweep (injected clock)', () => {
  it('on its timer: scheduled trees are archived after 7 days and purged 30 days later; due ephemeral leaves are deleted', async () => {
    const t = fakeClock();
    const h = harness({ clock: t.clock, sweepIntervalMs: 5 });
    try {
      const keep = await h.newTree();
      const { tree_id, root } = await h.newTree();
      for (let i = 0; i < 3; i++) await h.text(tree_id, root, `n${i}`);
      const user = h.arbor.storage.nodeCreateExternalEphemeral(keep.tree_id, keep.root, handle(1));
      const assistant = h.arbor.storage.nodeCreateExternalEphemeral(keep.tree_id, user, handle(2));
      const heldUp = h.arbor.storage.nodeCreateExternalEphemeral(keep.tree_id, keep.root, handle(3));
      const child = await h.text(keep.tree_id, heldUp, 'an active child keeps its ephemeral parent');
      assert.deepEqual((await h.ok('node_get', { tree_id: keep.tree_id, node_id: user })).node.refs, { ref_count: 0, owners: {} });
      await h.ok('tree_release', { tree_id, owner_id: 'alice', count: 1 });

      t.advance(7 * DAY - 1000);
      await new Promise((r) => setTimeout(r, 30)); // a chance for the sweep to act too early: it must not
      assert.deepEqual((await h.ok('tree_list_scheduled')).tree_ids, [tree_id], 'not yet due');
      assert.equal((await h.ok('node_get', { tree_id: keep.tree_id, node_id: assistant })).node.state, 'scheduled_delete');

      t.advance(2000);
      await eventually(() => h.arbor.storage.treeList('archived').length === 1);
      assert.deepEqual((await h.ok('tree_list_archived')).tree_ids, [tree_id]);
      assert.equal(h.arbor.storage.treeGetArchived(tree_id).archived_at, t.seconds());
      await h.fails('node_get', { tree_id: keep.tree_id, node_id: assistant }, 'arbor.node_not_found');
      await h.fails('node_get', { tree_id: keep.tree_id, node_id: user }, 'arbor.node_not_found');
      assert.deepEqual((await h.ok('node_get', { tree_id: keep.tree_id, node_id: keep.root })).node.children, [heldUp]);
      assert.deepEqual((await h.ok('node_get_path', { tree_id: keep.tree_id, node_id: child })).path, [keep.root, heldUp, child]);

      t.advance(30 * DAY);
      await eventually(() => h.arbor.storage.treeList('archived').length === 0);
      await h.fails('tree_get', { tree_id }, 'arbor.tree_not_found');
      const count = (sql: string) => (h.arbor.storage.db.prepare(sql).get(tree_id) as { n: number }).n;
      assert.equal(count('SELECT COUNT(*) AS n FROM nodes WHERE tree_id = ?'), 0, 'nodes of a purged tree are gone');
      assert.equal(count('SELECT COUNT(*) AS n FROM tree_refs WHERE tree_id = ?'), 0);
      assert.deepEqual((await h.ok('tree_list')).tree_ids, [keep.tree_id]);
    } finally {
      h.arbor.close();
    }
  });

  it('a claim before the window ends saves the tree', async () => {
    const t = fakeClock();
    const h = harness({ clock: t.clock });
    try {
      const { tree_id } = await h.newTree();
      await h.ok('tree_release', { tree_id, owner_id: 'alice', count: 1 });
      t.advance(6 * DAY);
      await h.ok('tree_claim', { tree_id, owner_id: 'bob', count: 1 });
      t.advance(30 * DAY);
      assert.deepEqual(h.arbor.sweep(), { archived_trees: [], purged_trees: [], deleted_nodes: [] });
      assert.equal((await h.ok('tree_get', { tree_id })).tree.state, 'active');
    } finally {
      h.arbor.close();
    }
  });

  it('honours custom windows', async () => {
    const t = fakeClock();
    const h = harness({ clock: t.clock, retention: { scheduledDeletionWindow: 60, archiveWindow: 60 } });
    try {
      const { tree_id } = await h.newTree();
      await h.ok('tree_release', { tree_id, owner_id: 'alice', count: 1 });
      t.advance(61_000);
      assert.deepEqual(h.arbor.sweep().archived_trees, [tree_id]);
      t.advance(61_000);
      assert.deepEqual(h.arbor.sweep().purged_trees, [tree_id]);
    } finally {
      h.arbor.close();
    }
  });
});

describe('arbor: storage API for other activations', () => {
  it('transaction() commits several calls together, or none of them', () => {
    const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    try {
      const s = arbor.storage;
      const tree = s.treeCreate({ kind: 'conversation' }, 'cone-1');
      const root = s.treeGet(tree).root;
      assert.throws(
        () =>
          s.transaction(() => {
            s.nodeCreateText(tree, root, 'user turn');
            s.nodeCreateText(tree, MISSING, 'orphan');
          }),
        (e: unknown) => e instanceof ArborError && e.code === 'arbor.node_not_found' && e.details.kind === 'node_not_found',
      );
      assert.deepEqual(s.treeGet(tree).nodes[root]!.children, [], 'the first node was rolled back');
      const ids = s.transaction(() => [s.nodeCreateText(tree, root, 'a'), s.nodeCreateText(tree, root, 'b')]);
      assert.deepEqual(s.nodeGetChildren(tree, root), ids);
      assert.deepEqual(s.treeQueryByMetadata({ kind: 'conversation' }), [tree]);
      assert.deepEqual(s.treeQueryByMetadata({ kind: 'other' }), []);
      const fixed = '6f1c0f8e-1d2b-4c3a-9e8f-0a1b2c3d4e5f';
      assert.equal(s.treeCreateWithId(fixed, null, 'x'), fixed);
      assert.throws(() => s.treeCreateWithId(fixed, null, 'x'), /already exists/);
    } finally {
      arbor.close();
    }
  });

  it('migrations are versioned per component and run once; a newer database is refused with arbor.init_error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'arbor-migrate-'));
    try {
      const file = join(dir, 'hub.db');
      new Arbor({ database: file, sweepIntervalMs: 0 }).close();
      const db = openDatabase(file);
      const rows = db.prepare(`SELECT version FROM schema_migrations WHERE component = 'arbor' ORDER BY version`).all();
      assert.deepEqual(rows, [{ version: 1 }, { version: 2 }]);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      db.prepare(`INSERT INTO schema_migrations VALUES ('arbor', 99, 'from the future', 0)`).run();
      db.close();
      assert.throws(
        () => new Arbor({ database: file, sweepIntervalMs: 0 }),
        (e: unknown) => e instanceof ArborError && e.code === 'arbor.init_error' && /schema version 99/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('arbor over WebSocket', () => {
  let server: PlexusServer;
  let client: PlexusClient;
  let arbor: Arbor;
  before(async () => {
    arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    server = await serveWebSocket(new DynamicHub().register(arbor), { port: 0 });
    client = new PlexusClient({ url: server.url });
  });
  after(async () => {
    client.close();
    await server.close({ graceMs: 0 });
    arbor.close();
  });

  it('serves the methods with reference-shaped items and named error codes', async () => {
    const created = (await client.result('arbor.tree_create', { owner_id: 'ws' })) as { tree_id: string };
    const { tree } = (await client.result('arbor.tree_get', { tree_id: created.tree_id })) as { tree: Tree };
    const node = (await client.result('arbor.node_create_text', {
      tree_id: created.tree_id,
      parent: tree.root,
      content: 'over the wire',
    })) as { node_id: string };
    const items = [];
    for await (const item of client.call('arbor.node_get', { tree_id: created.tree_id, node_id: node.node_id })) items.push(item);
    assert.deepEqual(
      items.map((i) => i.type),
      ['data', 'done'],
    );
    assert.equal((items[0] as { content_type: string }).content_type, 'arbor.node_get');
    await assert.rejects(
      client.result('arbor.tree_get', { tree_id: MISSING }),
      (e: unknown) => e instanceof PlexusError && e.code === 'arbor.tree_not_found' && e.message === `Tree not found: ${MISSING}`,
    );
  });
});
