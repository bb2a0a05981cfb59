// Issue #28 §2, the process side: `hub serve` with a token store prints a one-time owner
// URL and leaves its owner key in `<data dir>/owner.json` (0600, gone at exit) for
// `hub approvals`; `hub approvals watch` shows calls as they come; with
// `--allow-standing-execute` it warns at start and an execute grant runs at once.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseGrant } from '../../src/auth/grants.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { PlexusClient, type StreamItem } from '../../src/index.js';
import { eventually } from '../support/helpers.js';
import { runHubCli, startHub } from '../support/hub-process.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';

const dirs: string[] = [];
function dataDir(): { dir: string; token: string } {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-approvals-serve-'));
  dirs.push(dir);
  const { token } = new TokenStore(dir).create({ name: 'agent', hub: 'plexus', grants: [parseGrant('bash.execute:execute')] });
  return { dir, token };
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function run(url: string, token: string, command: string, onItem: (item: StreamItem) => void = () => {}): Promise<StreamItem[]> {
  const client = new PlexusClient({ url, token, connectAttempts: 1 });
  try {
    const items: StreamItem[] = [];
    for await (const item of client.call('bash.execute', { command })) {
      items.push(item);
      onItem(item);
    }
    return items;
  } finally {
    client.close();
  }
}

describe('hub serve and the owner', () => {
  it('prints an owner URL, writes owner.json (0600); `hub approvals watch` shows the call; approved, it runs; owner.json goes at exit', async () => {
    const { dir, token } = dataDir();
    const hub = await startHub({ args: ['--no-builtins', '--with', 'bash', '--data-dir', dir] });
    try {
      assert.match(
        hub.output(),
        /owner URL \(approve execute calls in the explorer; one use, 10 min\): http:\/\/127\.0\.0\.1:\d+\/\?owner=own-[0-9A-Z]{4}-/,
      );
      assert.match(hub.output(), /execute calls wait for the owner's approval/);
      const file = join(dir, 'owner.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const owner = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(owner.url, hub.url);
      assert.match(owner.key, /^phub_owner_/);

      // The watcher (not a terminal: it prints, it does not ask).
      const watcher = spawn(process.execPath, [HUB_BIN, 'approvals', 'watch', '--data-dir', dir], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const watched: string[] = [];
      createInterface({ input: watcher.stdout! }).on('line', (l) => watched.push(l));
      try {
        let id: string | undefined;
        const items = run(hub.url, token, 'echo from-serve', (item) => {
          if (item.type === 'progress') id = /apr_[0-9a-f]+/.exec(item.message)![0];
        });
        await eventually(() => id !== undefined && watched.some((l) => l.startsWith(`pending ${id}`)), 30_000);
        assert.match(
          watched.find((l) => l.startsWith(`pending ${id}`))!,
          /agent \(tok_[0-9a-f]+ from 127\.0\.0\.1\) {2}bash\.execute {2}\{"command":"echo from-serve"\}/,
        );
        const approved = await runHubCli(['approvals', 'approve', id!, '--data-dir', dir]);
        assert.equal(approved.code, 0, approved.stderr);
        const done = await items;
        assert.ok(
          done.some((i) => i.type === 'data' && (i.content as { line?: string }).line === 'from-serve'),
          JSON.stringify(done),
        );
        await eventually(() => watched.includes(`approved ${id}`), 10_000);
      } finally {
        watcher.kill('SIGKILL');
      }
    } finally {
      await hub.stop('SIGTERM');
    }
    assert.equal(existsSync(join(dir, 'owner.json')), false, 'owner.json is removed at exit');
  });

  it('--allow-standing-execute: warned at start, no owner file, and the execute grant runs at once', async () => {
    const { dir, token } = dataDir();
    const hub = await startHub({ args: ['--no-builtins', '--with', 'bash', '--data-dir', dir, '--allow-standing-execute'] });
    try {
      assert.match(
        hub.output(),
        /WARNING: --allow-standing-execute: a token with an execute grant runs code without the owner approving each call/,
      );
      assert.doesNotMatch(hub.output(), /owner URL/);
      assert.equal(existsSync(join(dir, 'owner.json')), false);
      const items = await run(hub.url, token, 'echo standing');
      assert.ok(!items.some((i) => i.type === 'progress'));
      assert.ok(items.some((i) => i.type === 'data' && (i.content as { line?: string }).line === 'standing'));
      const cli = await runHubCli(['approvals', '--data-dir', dir]);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /no running hub owns .*owner\.json is missing/);
    } finally {
      await hub.stop('SIGTERM');
    }
  });
});
