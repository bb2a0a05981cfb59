// Issue #21 item 9: claudecode's session files are confined to the sessions root. A
// symlinked `<id>.jsonl` (to a file or a directory) and a symlinked project directory
// leading out of the root are refused by get, export, import, delete and list.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { ClaudeCode } from '../../activations/claudecode/index.js';
import { collect, contents } from '../support/helpers.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-session-links-')));
const root = join(dir, 'projects');
const outside = join(dir, 'outside');
mkdirSync(join(root, 'proj'), { recursive: true });
mkdirSync(outside);
const SECRET = `${JSON.stringify({ type: 'user', message: { role: 'user', content: 'secret' } })}\n`;
writeFileSync(join(outside, 'secret.jsonl'), SECRET);
// A file link, a directory link, and a project directory that leads out of the root.
symlinkSync(join(outside, 'secret.jsonl'), join(root, 'proj', 'filelink.jsonl'));
symlinkSync(outside, join(root, 'proj', 'dirlink.jsonl'));
symlinkSync(outside, join(root, 'escape'));
writeFileSync(join(root, 'proj', 'real.jsonl'), SECRET);

const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
const claudecode = new ClaudeCode({ arbor, claudePath: join(dir, 'no-claude'), sessionsRoot: root });
const hub = new DynamicHub().register(arbor, claudecode);

async function call<T>(path: string, params: Record<string, unknown>): Promise<T> {
  const items = await collect(hub.call(path, params));
  const error = items.find((i) => i.type === 'error') as { code?: string; message: string } | undefined;
  if (error) throw Object.assign(new Error(error.message), { code: error.code });
  return contents(items)[0] as T;
}

const linkRefused = (id: string) => ({
  code: 'claudecode.session_file',
  message: `session file error: ${id}.jsonl is a symbolic link; session files must be regular files`,
});
const outsideRefused = {
  code: 'claudecode.session_file',
  message: 'session file error: project_path "escape" resolves outside the session root',
};

describe('claudecode session files: symlinks are refused', () => {
  after(() => {
    arbor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get and import refuse a symlinked session file (to a file or a directory)', async () => {
    for (const id of ['filelink', 'dirlink']) {
      await assert.rejects(call('claudecode.sessions_get', { project_path: 'proj', session_id: id }), linkRefused(id));
      await assert.rejects(call('claudecode.sessions_import', { project_path: 'proj', session_id: id }), linkRefused(id));
    }
    assert.deepEqual((await call<{ tree_ids: string[] }>('arbor.tree_list', {})).tree_ids, [], 'nothing was imported');
    // A regular file still works.
    assert.equal(
      (await call<{ event_count: number }>('claudecode.sessions_get', { project_path: 'proj', session_id: 'real' })).event_count,
      1,
    );
  });

  it('export refuses to append through a symlinked session file; the target is unchanged', async () => {
    const { tree_id: t } = await call<{ tree_id: string }>('arbor.tree_create', { owner_id: 't' });
    const top = (await call<{ tree: { root: string } }>('arbor.tree_get', { tree_id: t })).tree.root;
    await call('arbor.node_create_text', { tree_id: t, parent: top, content: JSON.stringify({ type: 'user_message', content: 'hi' }) });
    for (const id of ['filelink', 'dirlink']) {
      await assert.rejects(call('claudecode.sessions_export', { tree_id: t, project_path: 'proj', session_id: id }), linkRefused(id));
    }
    assert.equal(readFileSync(join(outside, 'secret.jsonl'), 'utf8'), SECRET);
    assert.equal(existsSync(join(outside, 'dirlink.jsonl')), false);
  });

  it('delete refuses a symlinked session file and leaves the link and its target', async () => {
    for (const id of ['filelink', 'dirlink']) {
      await assert.rejects(call('claudecode.sessions_delete', { project_path: 'proj', session_id: id }), linkRefused(id));
      assert.ok(existsSync(join(root, 'proj', `${id}.jsonl`)));
    }
    assert.equal(readFileSync(join(outside, 'secret.jsonl'), 'utf8'), SECRET);
  });

  it('list shows regular session files only', async () => {
    assert.deepEqual(await call('claudecode.sessions_list', { project_path: 'proj' }), { sessions: ['real'] });
  });

  it('a project directory symlinked out of the root is refused by every session method', async () => {
    const { tree_id } = await call<{ tree_id: string }>('arbor.tree_create', { owner_id: 't' });
    await assert.rejects(call('claudecode.sessions_list', { project_path: 'escape' }), outsideRefused);
    await assert.rejects(call('claudecode.sessions_get', { project_path: 'escape', session_id: 'secret' }), outsideRefused);
    await assert.rejects(call('claudecode.sessions_import', { project_path: 'escape', session_id: 'secret' }), outsideRefused);
    await assert.rejects(call('claudecode.sessions_export', { tree_id, project_path: 'escape', session_id: 'secret' }), outsideRefused);
    await assert.rejects(call('claudecode.sessions_delete', { project_path: 'escape', session_id: 'secret' }), outsideRefused);
    assert.equal(readFileSync(join(outside, 'secret.jsonl'), 'utf8'), SECRET);
  });
});
