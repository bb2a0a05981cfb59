import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pluginId } from '../../activations/storage/plugin-id.js';
import { eventually } from '../support/helpers.js';
import { REPO_ROOT as root } from '../support/repo.js';
import { startHub } from '../support/hub-process.js';

const HUB = join(root, 'bin', 'hub.js');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'storage-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `hub serve` run from a scratch directory, as a user would start it there. */
const serve = (args: string[], env: NodeJS.ProcessEnv = {}) => startHub({ args, env, cwd: dir });

async function hub(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB, ...args], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const json = (text: string) => JSON.parse(text);

describe('hub serve --with arbor,changelog,mustache', () => {
  it('serves them from one SQLite file in --data-dir; data and the hash record survive a restart', async () => {
    const dataDir = join(dir, 'data');
    const first = await serve(['--with', 'arbor,changelog,mustache', '--data-dir', dataDir]);
    let tree_id: string;
    try {
      await eventually(() => first.lines.includes('changelog: First startup - no previous hash recorded'));
      const created = await hub(['call', 'arbor.tree_create', '--owner_id', 'cli', '--url', first.url]);
      assert.equal(created.code, 0, created.stderr);
      tree_id = json(created.stdout).tree_id;
    } finally {
      assert.equal(await first.stop('SIGTERM'), 0);
    }
    assert.ok(existsSync(join(dataDir, 'hub.db')));
    const second = await serve(['--with', 'changelog,arbor,mustache', '--data-dir', dataDir]);
    try {
      await eventually(() => second.lines.includes('changelog: Plexus hash unchanged'));
      const listed = await hub(['call', 'arbor.tree_list', '--url', second.url]);
      assert.deepEqual(json(listed.stdout).tree_ids, [tree_id]);
      const changes = json((await hub(['call', 'changelog.changes', '--url', second.url])).stdout).changes;
      assert.equal(changes.length, 1);
    } finally {
      await second.stop('SIGTERM');
    }
  });

  it('hub call --template NAME prints each item rendered with the registered template; an unknown template fails with its code', async () => {
    const server = await serve(['--with', 'mustache'], { PLEXUS_HUB_DATA: join(dir, 'from-env') });
    try {
      const template = { plugin_id: pluginId('echo', '1.0.0'), method: 'echo', name: 'short', template: '#{{seq}}: {{message}}' };
      assert.equal((await hub(['call', 'mustache.register_template', '--json', JSON.stringify(template), '--url', server.url])).code, 0);
      const r = await hub(['call', 'echo.echo', '--message', 'a <b>', '--count', '2', '--template', 'short', '--url', server.url]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '#1: a &lt;b&gt;\n#2: a &lt;b&gt;\n');
      const missing = await hub(['call', 'echo.once', '--message', 'x', '--template', 'nope', '--url', server.url]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /error mustache\.template_not_found: Template not found: plugin=[0-9a-f-]{36}, method=once, name=nope/);
      assert.ok(existsSync(join(dir, 'from-env', 'hub.db')), '$PLEXUS_HUB_DATA is the default data dir');
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('--config reads {"with", "data_dir"} (data_dir relative to the file); a bad config is a clear error', async () => {
    const confDir = join(dir, 'conf');
    mkdirSync(confDir, { recursive: true });
    writeFileSync(join(confDir, 'plexus-hub.json'), JSON.stringify({ with: ['arbor'], data_dir: 'state' }));
    const server = await serve(['--config', join(confDir, 'plexus-hub.json')]);
    try {
      const r = await hub(['call', 'arbor.tree_list', '--url', server.url]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(confDir, 'state', 'hub.db')));
    } finally {
      await server.stop('SIGTERM');
    }
    writeFileSync(join(confDir, 'bad.json'), JSON.stringify({ with: ['arbor'], dataDir: 'x' }));
    const bad = await hub(['serve', '--config', join(confDir, 'bad.json')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /config .*bad\.json: unknown key "dataDir"/);
  });

  it('without --with there is no arbor and no database; --with rejects unknown names', async () => {
    const server = await serve([]);
    try {
      const r = await hub(['call', 'arbor.tree_list', '--url', server.url]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Activation not found: arbor/);
      assert.ok(!existsSync(join(dir, '.plexus-hub')));
    } finally {
      await server.stop('SIGTERM');
    }
    const bad = await hub(['serve', '--with', 'arbor,nope']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown activation "nope" for --with \(known: arbor, changelog, mustache, cone, bash, claudecode\)/);
  });
});
