import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Arbor } from '../../activations/arbor/index.js';
import { REPO_ROOT as root } from '../support/repo.js';

const CHILD = join(root, 'test', 'fixtures', 'arbor-child.ts');
const run = promisify(execFile);

/** Runs the child to completion; its last stdout line as JSON. */
async function child(...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: root, maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

/** Starts the child, SIGKILLs it when a stdout line matches `when`; resolves with that line. */
function killWhen(when: RegExp, ...args: string[]): Promise<string> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen: string | undefined;
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (seen === undefined && when.test(line)) {
        seen = line;
        proc.kill('SIGKILL');
      }
    });
    proc.once('exit', (code, signal) =>
      seen !== undefined && signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`child exited (${code ?? signal}) before ${when}`)),
    );
  });
}

/** Everything arbor stored, as text: what "the previous state" means. */
function dump(file: string): string {
  const arbor = new Arbor({ database: file, sweepIntervalMs: 0 });
  try {
    const db = arbor.storage.db;
    return ['trees', 'tree_refs', 'nodes', 'node_refs', 'node_children']
      .map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()))
      .join('\n');
  } finally {
    arbor.close();
  }
}

describe('arbor durability: a real SQLite file and real child processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arbor-durability-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('a crash mid-method leaves the previous state', () => {
    const file = join(dir, 'crash.db');
    let tree_id: string;
    let rootNode: string;
    before(() => {
      const arbor = new Arbor({ database: file, sweepIntervalMs: 0 });
      tree_id = arbor.storage.treeCreate({ title: 'before the crash' }, 'alice');
      rootNode = arbor.storage.treeGet(tree_id).root;
      arbor.storage.nodeCreateText(tree_id, rootNode, 'committed turn');
      arbor.close();
    });

    it('tree_create killed after its tree row and root node, before its reference row', async () => {
      const before = dump(file);
      await killWhen(/MID-WRITE/, 'freeze-in', file, 'nodes', 'tree_create', JSON.stringify({ owner_id: 'bob' }));
      assert.equal(dump(file), before);
    });

    it('node_create_text killed after the node row, before the child link', async () => {
      const before = dump(file);
      await killWhen(
        /MID-WRITE/,
        'freeze-in',
        file,
        'node_children',
        'node_create_text',
        JSON.stringify({ tree_id, parent: rootNode, content: 'lost turn' }),
      );
      assert.equal(dump(file), before);
    });

    it('tree_claim killed after the new reference row, before the tree count', async () => {
      const before = dump(file);
      await killWhen(/MID-WRITE/, 'freeze-in', file, 'tree_refs', 'tree_claim', JSON.stringify({ tree_id, owner_id: 'carol', count: 3 }));
      assert.equal(dump(file), before);
    });

    it('a writer killed at a random point: every committed node is whole, the file opens and keeps growing', async () => {
      const line = await killWhen(/WROTE 300/, 'write-loop', file, tree_id, rootNode);
      assert.match(line, /WROTE 300/);
      const arbor = new Arbor({ database: file, sweepIntervalMs: 0 });
      try {
        const db = arbor.storage.db;
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(db.pragma('foreign_key_check'), []);
        const orphans = db
          .prepare(`SELECT COUNT(*) AS n FROM nodes n WHERE parent_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM node_children c WHERE c.child_id = n.id AND c.parent_id = n.parent_id)`)
          .get() as { n: number };
        assert.equal(orphans.n, 0, 'every node with a parent has its child link');
        const leaves = arbor.storage.contextListLeaves(tree_id);
        const deepest = leaves.map((l) => arbor.storage.nodeGetPath(tree_id, l)).sort((a, b) => b.length - a.length)[0]!;
        assert.ok(deepest.length >= 302, `the chain has every reported turn (${deepest.length})`);
        const next = arbor.storage.nodeCreateText(tree_id, deepest.at(-1)!, 'after restart');
        assert.equal(arbor.storage.nodeGetPath(tree_id, next).length, deepest.length + 1);
      } finally {
        arbor.close();
      }
    });
  });

  it('a conversation tree of 10,000 nodes survives a restart byte-identical', async () => {
    const file = join(dir, 'big.db');
    const built = await child('build', file, '10000');
    assert.equal(built.digest.nodes, '10000');
    const reread = await child('read', file, built.tree_id, built.head);
    assert.deepEqual(reread, built);
  });
});
