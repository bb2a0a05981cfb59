// `hub import substrate`: files written with the reference's exact DDL (test/fixtures/substrate-ddl.ts)
// are imported into hub.db and read back through the activations' own methods.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DynamicHub } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { Changelog } from '../../activations/changelog/index.js';
import { ClaudeCode } from '../../activations/claudecode/index.js';
import { Cone } from '../../activations/cone/index.js';
import { Mustache } from '../../activations/mustache/index.js';
import { openDataDir, type SqliteDatabase } from '../../activations/storage/index.js';
import {
  importSubstrate,
  runSubstrateImport,
  SubstrateImportConflict,
  type SubstrateImportReport,
} from '../../activations/substrate-import/index.js';
import { IDS, PLUGIN, writeSubstrateDir } from '../fixtures/substrate-files.js';
import { collect, contents, errorOf } from '../support/helpers.js';
import { ensureBuilt } from '../support/built.js';
import { HUB_BIN } from '../support/repo.js';

/** All five activations over one hub.db (the caller closes it), as `hub serve --with arbor,cone,claudecode,changelog,mustache` has them. */
function hubOver(db: SqliteDatabase) {
  const arbor = new Arbor({ database: db, sweepIntervalMs: 0 });
  const cone = new Cone({ arbor });
  const claudecode = new ClaudeCode({ arbor });
  const changelog = new Changelog({ database: db });
  const mustache = new Mustache({ database: db });
  const hub = new DynamicHub('plexus').register(arbor, cone, claudecode, changelog, mustache);
  return {
    hub,
    async one<T = any>(path: string, params: Record<string, unknown> = {}): Promise<T> {
      const items = await collect(hub.call(path, params));
      const err = errorOf(items);
      assert.equal(err, undefined, `${path} failed: ${err?.code} ${err?.message}`);
      return contents(items)[0] as T;
    },
    close() {
      cone.close();
      claudecode.close();
      changelog.close();
      mustache.close();
      arbor.close();
    },
  };
}

/** Every table's counts, flattened to `activation.table → [inserted, unchanged]`. */
function counts(report: SubstrateImportReport): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const [activation, outcome] of Object.entries(report.activations)) {
    if (outcome.status !== 'imported') continue;
    for (const [table, c] of Object.entries(outcome.tables)) out[`${activation}.${table}`] = [c.inserted, c.unchanged];
  }
  return out;
}

const rowCount = (db: SqliteDatabase, table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('substrate import', () => {
  let root: string;
  let reference: string;
  let dataDir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'substrate-import-'));
    reference = join(root, 'substrate');
    dataDir = join(root, 'data');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const ALL_COUNTS = {
    'arbor.trees': 4,
    'arbor.tree_refs': 4,
    'arbor.nodes': 16,
    'arbor.node_refs': 0,
    'arbor.node_children': 12,
    'cone.cones': 1,
    'cone.messages': 2,
    'claudecode.claudecode_sessions': 1,
    'claudecode.claudecode_messages': 2,
    'claudecode.claudecode_unknown_events': 1,
    'changelog.changelog_entries': 2,
    'changelog.queue_entries': 2,
    'mustache.templates': 2,
  };
  const inserted = () => Object.fromEntries(Object.entries(ALL_COUNTS).map(([k, n]) => [k, [n, 0]]));
  const unchanged = () => Object.fromEntries(Object.entries(ALL_COUNTS).map(([k, n]) => [k, [0, n]]));

  test('imports every file, prints the counts, and the activations serve the data', async () => {
    writeSubstrateDir(reference);
    let printed = '';
    const report = runSubstrateImport(reference, { dataDir, write: (text) => (printed += text) });
    assert.equal(report.from, reference);
    assert.deepEqual(counts(report), inserted());
    const lines = printed.split('\n');
    assert.equal(lines[0], `imported ${reference} into ${join(dataDir, 'hub.db')}`);
    assert.equal(lines[1], `arbor: ${join(reference, 'activations/arbor/arbor.db')}`);
    assert.match(lines[2]!, /^ {2}trees +4 inserted +0 unchanged$/);
    assert.ok(lines.includes(`mustache: ${join(reference, 'activations/mustache/templates.db')}`));
    assert.equal(lines.at(-2), 'total: 49 inserted, 0 unchanged');

    const db = openDataDir(dataDir);
    const h = hubOver(db);
    try {
      // arbor: trees with nested nodes, children in order, refs, metadata, a tree scheduled for deletion.
      const { tree } = await h.one('arbor.tree_get', { tree_id: IDS.notes.tree });
      assert.equal(tree.root, IDS.notes.root);
      assert.deepEqual(tree.metadata, { name: 'notes', description: 'ideas' });
      assert.deepEqual(tree.refs, { ref_count: 3, owners: { alice: 2, system: 1 } });
      assert.deepEqual(tree.nodes[IDS.notes.root].children, [IDS.notes.idea, IDS.notes.second]);
      assert.deepEqual(tree.nodes[IDS.notes.idea].children, [IDS.notes.detail, IDS.notes.output]);
      assert.deepEqual(tree.nodes[IDS.notes.idea].metadata, { tag: 'idea' });
      assert.equal(tree.nodes[IDS.notes.detail].created_at, 1_784_000_002);
      assert.deepEqual((await h.one('arbor.node_get_path', { tree_id: IDS.notes.tree, node_id: IDS.notes.detail })).path, [
        IDS.notes.root,
        IDS.notes.idea,
        IDS.notes.detail,
      ]);
      assert.deepEqual((await h.one('arbor.context_get_handles', { tree_id: IDS.notes.tree, node_id: IDS.notes.output })).handles, [
        { plugin_id: PLUGIN.bash, version: '1.0.0', method: 'execute', meta: ['ls -la'] },
      ]);
      assert.deepEqual((await h.one('arbor.tree_list')).tree_ids, [IDS.notes.tree, IDS.cone.tree, IDS.session.tree]);
      assert.deepEqual((await h.one('arbor.tree_list_scheduled')).tree_ids, [IDS.released.tree]);
      // cone: its config, and its messages resolved through the imported handles.
      const { cone } = await h.one('cone.get', { identifier: { type: 'by_name', name: 'research' } });
      assert.deepEqual(cone, {
        id: IDS.cone.id,
        name: 'research',
        model_id: 'claude-3-haiku-20240307',
        system_prompt: 'You are a careful research assistant.',
        head: { tree_id: IDS.cone.tree, node_id: IDS.cone.assistantNode },
        metadata: { project: 'plexus' },
        created_at: 1_784_000_200,
        updated_at: 1_784_000_215,
      });
      assert.equal(
        (await h.one('arbor.tree_render', { tree_id: IDS.cone.tree })).render,
        '└── \n    └── [user:user] What is a Merkle tree?\n        └── [assistant:research] A tree of hashes.\n',
      );
      // claudecode: the session, and its turn rebuilt from the imported event nodes.
      const { config } = await h.one('claudecode.get', { name: 'refactor' });
      assert.equal(config.claude_session_id, 'b7f3c2a1-claude-session');
      assert.equal(config.loopback_session_id, null);
      assert.deepEqual(config.head, { tree_id: IDS.session.tree, node_id: IDS.session.assistantNode });
      assert.deepEqual(config.mcp_config, { mcpServers: {} });
      assert.equal(config.loopback_enabled, false);
      assert.deepEqual((await h.one('claudecode.render_context', { name: 'refactor' })).messages, [
        { role: 'user', content: [{ type: 'text', text: 'Rename foo to bar' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Renamed foo to bar in 3 files.' }] },
      ]);
      // changelog: entries newest first with their JSON details; queue entries by tag.
      const { entries } = await h.one('changelog.list');
      assert.deepEqual(entries, [
        {
          hash: IDS.changelog.second,
          previous_hash: IDS.changelog.first,
          created_at: 1_784_000_500,
          summary: 'Added cone',
          details: ['cone: LLM chat over arbor'],
          author: 'bob',
          queue_id: IDS.changelog.done,
        },
        {
          hash: IDS.changelog.first,
          created_at: 1_784_000_450,
          summary: 'Initial plugin tree',
          details: ['health', 'echo', 'arbor'],
          author: 'alice',
        },
      ]);
      const pending = (await h.one('changelog.queue_pending', { tag: 'breaking' })).entries;
      assert.deepEqual(pending, [
        {
          id: IDS.changelog.pending,
          description: 'Rename tree_render output',
          tags: ['frontend', 'breaking'],
          created_at: 1_784_000_410,
          status: 'pending',
        },
      ]);
      assert.equal((await h.one('changelog.queue_get', { id: IDS.changelog.done })).entry.completed_hash, IDS.changelog.second);
      // mustache: the templates render.
      assert.equal(
        await h.one('mustache.render', {
          plugin_id: PLUGIN.cone,
          method: 'chat',
          template_name: 'compact',
          value: { role: 'user', content: 'a<b' },
        }),
        '[user] a&lt;b',
      );
      assert.equal(await h.one('mustache.render', { plugin_id: PLUGIN.bash, method: 'execute', value: { code: 42 } }), 'exit 42');
      assert.deepEqual(
        (await h.one('mustache.list_templates', { plugin_id: PLUGIN.cone })).map((t: { id: string }) => t.id),
        [IDS.templates.cone],
      );
    } finally {
      h.close();
      db.close();
    }
  });

  test('a second run inserts nothing and reports every row unchanged', () => {
    writeSubstrateDir(reference);
    const db = openDataDir(dataDir);
    try {
      assert.deepEqual(counts(importSubstrate({ from: reference, db })), inserted());
      assert.deepEqual(counts(importSubstrate({ from: reference, db })), unchanged());
      assert.equal(rowCount(db, 'nodes'), 16);
      assert.equal(rowCount(db, 'templates'), 2);
      // The reference hub's own last root hash is not ours to take over.
      assert.equal(rowCount(db, 'hash_state'), 0);
    } finally {
      db.close();
    }
  });

  test('refuses a row with the same id but different content, naming activation, table, id and field', async () => {
    writeSubstrateDir(reference);
    const db = openDataDir(dataDir);
    const h = hubOver(db);
    try {
      importSubstrate({ from: reference, db });
      await h.one('arbor.tree_claim', { tree_id: IDS.notes.tree, owner_id: 'bob', count: 1 });
      const err = (() => {
        try {
          importSubstrate({ from: reference, db });
        } catch (e) {
          return e;
        }
        assert.fail('the second import should have been refused');
      })();
      assert.ok(err instanceof SubstrateImportConflict);
      assert.equal(err.activation, 'arbor');
      assert.equal(err.table, 'trees');
      assert.equal(err.id, `id=${IDS.notes.tree}`);
      assert.equal(err.field, 'ref_count');
      assert.match(err.message, new RegExp(`^arbor: table trees, id=${IDS.notes.tree}: hub.db has ref_count 4, the reference file 3; `));
      assert.match(err.message, /nothing was imported$/);
    } finally {
      h.close();
      db.close();
    }
  });

  test('a conflict found late leaves hub.db untouched, tables of earlier activations included', async () => {
    writeSubstrateDir(reference);
    const db = openDataDir(dataDir);
    const mustache = new Mustache({ database: db });
    try {
      // Another template under the same (plugin, method, name) as one of the reference's.
      await mustache.registerTemplate(PLUGIN.cone, 'chat', 'compact', '{{content}}');
      assert.throws(
        () => importSubstrate({ from: reference, db }),
        (e: unknown) =>
          e instanceof SubstrateImportConflict &&
          e.activation === 'mustache' &&
          e.table === 'templates' &&
          e.id === `id=${IDS.templates.cone}` &&
          e.field === 'plugin_id, method, name' &&
          e.message.includes('hub.db holds another row (id='),
      );
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      for (const t of ['trees', 'nodes', 'cones', 'claudecode_sessions', 'changelog_entries'])
        assert.ok(!tables.includes(t), `${t} was created`);
      assert.equal(rowCount(db, 'templates'), 1);
    } finally {
      mustache.close();
      db.close();
    }
  });

  test('missing files are skipped and reported; the oldest layout (bare files, no loopback column) imports too', async () => {
    writeSubstrateDir(reference, { activations: ['arbor', 'claudecode', 'mustache'], layout: 'flat', claudecodeLoopbackColumn: false });
    const db = openDataDir(dataDir);
    try {
      const report = importSubstrate({ from: reference, db });
      assert.deepEqual(report.activations.cone, {
        status: 'missing',
        looked_for: [join(reference, 'activations/cone/cones.db'), join(reference, 'cone/cones.db'), join(reference, 'cones.db')],
      });
      assert.equal(report.activations.changelog.status, 'missing');
      assert.deepEqual(Object.keys(counts(report)), [
        'arbor.trees',
        'arbor.tree_refs',
        'arbor.nodes',
        'arbor.node_refs',
        'arbor.node_children',
        'claudecode.claudecode_sessions',
        'claudecode.claudecode_messages',
        'claudecode.claudecode_unknown_events',
        'mustache.templates',
      ]);
      assert.equal(
        report.activations.claudecode.status === 'imported' && report.activations.claudecode.file,
        join(reference, 'claudecode.db'),
      );
      const h = hubOver(db);
      try {
        const { config } = await h.one('claudecode.get', { name: 'refactor' });
        assert.equal(config.loopback_session_id, null);
        assert.equal(config.working_dir, '/home/alice/project');
      } finally {
        h.close();
      }
    } finally {
      db.close();
    }
  });

  test("a directory that does not exist, or a file that is not the reference's, is an error naming it", () => {
    writeSubstrateDir(reference, { activations: ['arbor'] });
    writeFileSync(join(reference, 'cones.db'), 'not a database');
    const db = openDataDir(dataDir);
    try {
      assert.throws(() => importSubstrate({ from: join(root, 'nowhere'), db }), /nowhere is not a directory/);
      assert.throws(
        () => importSubstrate({ from: reference, db }),
        (e: Error) => e.message === `cone: cannot read ${join(reference, 'cones.db')}: file is not a database`,
      );
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'trees'").get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  });
  test('`hub import substrate <dir> --data-dir` imports, prints the counts, and refuses a conflict with exit 1', () => {
    ensureBuilt();
    writeSubstrateDir(reference, { activations: ['mustache'] });
    const run = () => spawnSync(process.execPath, [HUB_BIN, 'import', 'substrate', reference, '--data-dir', dataDir], { encoding: 'utf8' });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^imported ${reference} into ${join(dataDir, 'hub.db')}\n`));
    assert.match(first.stdout, /templates\s+2 inserted\s+0 unchanged/);
    assert.match(first.stdout, /total: 2 inserted, 0 unchanged\n$/);
    const second = run();
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /total: 0 inserted, 2 unchanged\n$/);
    const db = openDataDir(dataDir);
    try {
      db.prepare('UPDATE templates SET template = ?').run('changed');
    } finally {
      db.close();
    }
    const third = run();
    assert.equal(third.status, 1);
    assert.match(third.stderr, /^hub: mustache: table templates, .*nothing was imported/m);
  });
});
