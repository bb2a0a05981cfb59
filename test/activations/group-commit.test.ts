import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupCommit, openDatabase } from '../../activations/storage/index.js';

const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('group commit', () => {
  it('calls of one event-loop turn commit together, each answered only after the commit; a failing call rolls back alone', async () => {
    const file = join(dir, 'g.db');
    const db = openDatabase(file);
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
    const other = openDatabase(file); // another connection: sees only committed data
    const seen = () => (other.prepare('SELECT v FROM t ORDER BY rowid').pluck().all() as string[]).join(',');
    const batch = groupCommit(db);
    assert.equal(groupCommit(db), batch, 'one batcher per database');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const answeredWith: string[] = [];
    const a = batch.run(() => insert.run('a')).then(() => answeredWith.push(seen()));
    const bad = batch.run(() => {
      insert.run('lost');
      throw new Error('this call fails');
    });
    const b = batch.run(() => insert.run('b')).then(() => answeredWith.push(seen()));
    assert.equal(seen(), '', 'nothing is visible before the turn ends');
    await assert.rejects(bad, /this call fails/);
    await Promise.all([a, b]);
    assert.deepEqual(answeredWith, ['a,b', 'a,b'], 'answers come after the commit');
    await batch.run(() => insert.run('c'));
    assert.equal(seen(), 'a,b,c', 'the next turn is a new transaction');
    other.close();
    db.close();
  });

  it('a batch whose database closed rejects its calls instead of hanging', async () => {
    const db = openDatabase(join(dir, 'closed.db'));
    db.exec('CREATE TABLE t (v TEXT)');
    const pending = groupCommit(db).run(() => db.prepare('INSERT INTO t VALUES (1)').run());
    db.close();
    await assert.rejects(pending, /not open/);
  });
});
