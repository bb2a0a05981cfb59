// One data dir: `hub token create` writes tokens.json, and `hub serve` both reads
// that store (auth) and opens hub.db (the --with storage activations) in the same
// directory, whichever way the dir is named: not at all, an empty
// $PLEXUS_HUB_DATA, a relative or absolute one, --data-dir, or a config file.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { resolveDataDir } from '../../src/index.js';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT as repoRoot } from '../support/repo.js';

ensureBuilt();
const HUB = join(repoRoot, 'bin', 'hub.js');
const base = mkdtempSync(join(tmpdir(), 'plexus-data-dir-'));
after(() => rmSync(base, { recursive: true, force: true }));

/**
 * The test runner's env without the hub's own variables, plus `env`. The schema cache
 * stays the repository's (by default it is under the working directory, and each case
 * runs in a fresh one).
 */
function hubEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { PLEXUS_HUB_DATA: _data, PLEXUS_HUB_TOKEN: _token, ...rest } = process.env;
  const cache = process.env.PLEXUS_HUB_CACHE || join(repoRoot, 'node_modules', '.cache', 'plexus-hub');
  return { ...rest, PLEXUS_HUB_CACHE: cache, ...env };
}

async function createToken(cwd: string, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [HUB, 'token', 'create', 'reader', '--grant', 'mustache.*:read', ...args],
    {
      cwd,
      env: hubEnv(env),
    },
  );
  return stdout.trim();
}

/**
 * `hub serve --stdio --with mustache --token <token>`: it starts only when auth found
 * the token in its store, and it opens hub.db on start. Resolves once it serves (as
 * the token's principal), after closing its input and waiting for its exit.
 */
async function serveWithToken(cwd: string, env: NodeJS.ProcessEnv, args: string[], token: string): Promise<string> {
  const child = spawn(process.execPath, [HUB, 'serve', '--stdio', '--no-builtins', '--with', 'mustache', '--token', token, ...args], {
    cwd,
    env: hubEnv(env),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  const serving = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr += `${line}\n`;
      if (line.includes(' on stdio as ')) done(line);
    });
    void exited.then((code) => fail(new Error(`hub serve exited ${code}: ${stderr}`)));
  });
  child.stdin!.end();
  assert.equal(await exited, 0, stderr);
  return serving;
}

interface Case {
  readonly name: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Flags of both commands. */
  readonly args?: (cwd: string) => string[];
  /** Flags of `hub token create` only, where they differ. */
  readonly tokenArgs?: (cwd: string) => string[];
  readonly expected: (cwd: string) => string;
}

const absolute = join(base, 'absolute');
const cases: Case[] = [
  { name: 'unset: ./.plexus-hub', expected: (cwd) => join(cwd, '.plexus-hub') },
  { name: 'empty $PLEXUS_HUB_DATA counts as unset', env: { PLEXUS_HUB_DATA: '' }, expected: (cwd) => join(cwd, '.plexus-hub') },
  {
    name: 'relative $PLEXUS_HUB_DATA: under the working directory',
    env: { PLEXUS_HUB_DATA: 'state/hub' },
    expected: (cwd) => join(cwd, 'state', 'hub'),
  },
  { name: 'absolute $PLEXUS_HUB_DATA', env: { PLEXUS_HUB_DATA: absolute }, expected: () => absolute },
  {
    name: '--data-dir wins over $PLEXUS_HUB_DATA',
    env: { PLEXUS_HUB_DATA: join(base, 'not-this-one') },
    args: () => ['--data-dir', 'flagged'],
    expected: (cwd) => join(cwd, 'flagged'),
  },
  {
    name: "a config file's data_dir (relative to the file), for auth as for storage",
    args: (cwd) => ['--config', join(cwd, 'conf', 'hub.json')],
    tokenArgs: (cwd) => ['--data-dir', join(cwd, 'conf', 'data')],
    expected: (cwd) => join(cwd, 'conf', 'data'),
  },
];

describe('one data dir for tokens and hub.db', () => {
  it('resolveDataDir: the option, else a non-empty $PLEXUS_HUB_DATA, else ./.plexus-hub, absolute', () => {
    assert.equal(resolveDataDir(undefined, {}), resolve('.plexus-hub'));
    assert.equal(resolveDataDir(undefined, { PLEXUS_HUB_DATA: '' }), resolve('.plexus-hub'));
    assert.equal(resolveDataDir('', { PLEXUS_HUB_DATA: '' }), resolve('.plexus-hub'));
    assert.equal(resolveDataDir('', { PLEXUS_HUB_DATA: 'env' }), resolve('env'));
    assert.equal(resolveDataDir(undefined, { PLEXUS_HUB_DATA: 'env' }), resolve('env'));
    assert.equal(resolveDataDir('flag', { PLEXUS_HUB_DATA: 'env' }), resolve('flag'));
    assert.equal(resolveDataDir(absolute, {}), absolute);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const cwd = mkdtempSync(join(base, 'cwd-'));
      mkdirSync(join(cwd, 'conf'));
      writeFileSync(join(cwd, 'conf', 'hub.json'), JSON.stringify({ data_dir: 'data' }));
      const env = c.env ?? {};
      const args = c.args?.(cwd) ?? [];
      const dir = c.expected(cwd);

      const token = await createToken(cwd, env, c.tokenArgs?.(cwd) ?? args);
      assert.ok(existsSync(join(dir, 'tokens.json')), `tokens.json in ${dir}`);

      const serving = await serveWithToken(cwd, env, args, token);
      assert.match(serving, /as principal reader$/, 'serve found the token in the same store');
      assert.ok(existsSync(join(dir, 'hub.db')), `hub.db in ${dir}`);
      // Nothing of the hub's state anywhere else under the working directory.
      const stray = readdirSync(cwd, { recursive: true, encoding: 'utf8' }).filter(
        (f) => /(^|\/)(tokens\.json|hub\.db)$/.test(f) && !resolve(cwd, f).startsWith(`${dir}/`),
      );
      assert.deepEqual(stray, []);
    });
  }
});
