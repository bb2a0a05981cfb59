// `hub approvals watch` at a terminal (a real pty from util-linux `script`): it asks
// about each pending execute call in turn and sends the answer typed (`y` approves
// once, `n` denies); a call decided elsewhere while its question is on screen
// withdraws the question with a line saying so, and the next call is asked about.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGrant } from '../../src/auth/grants.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { PlexusClient, type StreamItem } from '../../src/index.js';
import { eventually } from '../support/helpers.js';
import { runHubCli, startHub } from '../support/hub-process.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';

const SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!SCRIPT) console.log('# skipped: util-linux `script` (a pty for the terminal prompt) is not installed');

const dir = mkdtempSync(join(tmpdir(), 'plexus-approvals-tty-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const { token } = new TokenStore(dir).create({ name: 'agent', hub: 'plexus', grants: [parseGrant('bash.execute:execute')] });

/** Starts `bash.execute {command}`; resolves with the approval id it waits on, and its items at the end. */
async function held(url: string, command: string): Promise<{ id: string; items: Promise<StreamItem[]> }> {
  const client = new PlexusClient({ url, token, connectAttempts: 1 });
  let id: string | undefined;
  const items = (async () => {
    const seen: StreamItem[] = [];
    try {
      for await (const item of client.call('bash.execute', { command })) {
        seen.push(item);
        if (item.type === 'progress') id ??= /apr_[0-9a-f]+/.exec(item.message)?.[0];
      }
      return seen;
    } finally {
      client.close();
    }
  })();
  await eventually(() => id !== undefined, 30_000);
  return { id: id!, items };
}

const lineOf = (items: StreamItem[]) => items.find((i) => i.type === 'data')?.content as { line?: string } | undefined;

describe('hub approvals watch at a terminal', { skip: !SCRIPT }, () => {
  it('asks about each call; y approves, n denies; a call decided elsewhere withdraws its question', async () => {
    const hub = await startHub({ args: ['--no-builtins', '--with', 'bash', '--data-dir', dir] });
    const watcher = spawn('script', ['-qfec', `'${process.execPath}' '${HUB_BIN}' approvals watch --data-dir '${dir}'`, '/dev/null'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    watcher.stdout!.on('data', (d: Buffer) => (screen += d.toString().replace(/\r/g, '')));
    const asked = (id: string) => eventually(() => screen.includes(`approve ${id} bash.execute? [y = once / 10m = window / n] `), 30_000);
    try {
      const one = await held(hub.url, 'echo one');
      await asked(one.id);
      watcher.stdin!.write('y\n');
      assert.equal(lineOf(await one.items)?.line, 'one');
      await eventually(() => screen.includes(`approved ${one.id}`), 10_000);

      const two = await held(hub.url, 'echo two');
      await asked(two.id);
      const denied = await runHubCli(['approvals', 'deny', two.id, '--data-dir', dir]);
      assert.equal(denied.code, 0, denied.stderr);
      await eventually(() => screen.includes(`denied ${two.id}: no answer needed any more`), 10_000);
      assert.equal((await two.items).find((i) => i.type === 'error')?.code, 'execute_not_approved');

      // The prompt went on to the next call (it is not stuck on the withdrawn one).
      const three = await held(hub.url, 'echo three');
      await asked(three.id);
      watcher.stdin!.write('n\n');
      const items = await three.items;
      assert.equal(items.find((i) => i.type === 'error')?.code, 'execute_not_approved');
      assert.equal(lineOf(items), undefined, 'a denied call never ran');
    } finally {
      watcher.kill('SIGKILL');
      await hub.stop('SIGTERM');
    }
  });
});
