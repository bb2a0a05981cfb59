// A new user's first run with the packed package, as an MCP client would start the
// hub: an empty working directory and an empty HOME. A `.ts` activation loads in a
// CommonJS project (`npm init -y`) and with no package.json at all (an ES module
// project with a tsconfig that would change emitted code: package.test.ts); the
// schema cache goes beside the module or to the user cache, never to the cwd; a
// storage activation without better-sqlite3's addon fails with the fix named while
// the others keep working; the schemas of the package's own classes ship in it, so a
// cold start extracts only the user's. `hub init`: package-init.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureBuilt } from '../support/built.js';
import { freshUserEnv, installTarball, NPM, sharedTarball } from '../support/packed.js';
import { REPO_ROOT } from '../support/repo.js';

const NOTES = `import { activation, method, PlexusError } from 'plexus-hub';
import { Note } from './note.js';

/** Notes kept in memory. */
@activation('notes', { version: '1.0.0' })
export class Notes {
  readonly #notes: Note[] = [{ id: 1, text: 'first' }];

  /**
   * One note.
   * @param id - the note's id
   */
  @method()
  async get(id: number): Promise<Note> {
    const note = this.#notes.find((n) => n.id === id);
    if (!note) throw new PlexusError(-32010, \`no note \${id}\`);
    return note;
  }
}
`;
// Imported without \`type\`: a tsconfig with verbatimModuleSyntax would keep that import at runtime.
const NOTE = `/** A note. */
export interface Note {
  id: number;
  text: string;
}
`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 110_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Starts a long-running command in its own process group and waits for the hub's `on ws://…` line. */
function startServing(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = / on (ws:\/\/\S+)$/.exec(line);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`)));
  });
}

function stop(child: ChildProcess | undefined): void {
  // npm and npx run the bin under a shell: end the whole process group.
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
}

describe('the packed package, first run from an empty cwd and HOME', () => {
  let scratch: string;
  let base: string;
  let cwd: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let hub: string;

  before(async () => {
    ensureBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'plexus-first-run-'));
    [base, cwd, home] = ['base', 'cwd', 'home'].map((d) => join(scratch, d)) as [string, string, string];
    for (const d of [base, cwd, home]) mkdirSync(d);
    // One install of the tarball; each layout below sits under it and resolves plexus-hub from it.
    installTarball(base, await sharedTarball());
    hub = join(base, 'node_modules', 'plexus-hub', 'bin', 'hub.js');
    env = freshUserEnv(home);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Serves the module from the empty cwd, calls notes.get through `hub call`, stops. */
  async function serveAndCall(module: string, from = cwd): Promise<void> {
    const { url, child } = await startServing(process.execPath, [hub, 'serve', module, '--no-builtins', '--port', '0'], from, env);
    try {
      const r = await exec(process.execPath, [hub, 'call', 'notes.get', '--id', '1', '--url', url], from, env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { id: 1, text: 'first' });
    } finally {
      stop(child);
    }
  }

  function writeModule(dir: string): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.ts'), NOTES);
    writeFileSync(join(dir, 'note.ts'), NOTE);
    return join(dir, 'notes.ts');
  }

  it('a CommonJS project (npm init -y): the .ts activation loads; its schemas are cached in the user cache, not the cwd', {
    timeout: 100_000,
  }, async () => {
    const project = join(base, 'cjs');
    const module = writeModule(join(project, 'src'));
    const init = await exec(NPM, ['init', '-y'], project, env);
    assert.equal(init.code, 0, init.stderr);
    assert.notEqual(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).type, 'module');
    await serveAndCall(module);
    assert.deepEqual(readdirSync(cwd), [], 'nothing is written to the working directory');
    // This project has no node_modules of its own: the user cache of the (empty) HOME.
    assert.ok(readdirSync(join(home, '.cache', 'plexus-hub')).some((f) => f.endsWith('.json')));
    assert.ok(!existsSync(join(project, 'node_modules')));
  });

  it('no package.json anywhere: the .ts activation loads; its schemas go beside it, in the node_modules it resolves from', {
    timeout: 100_000,
  }, async () => {
    const module = writeModule(join(base, 'loose'));
    const cache = join(base, 'node_modules', '.cache', 'plexus-hub');
    const entriesBefore = existsSync(cache) ? readdirSync(cache).length : 0;
    await serveAndCall(module);
    assert.deepEqual(readdirSync(cwd), []);
    assert.ok(readdirSync(cache).length > entriesBefore, 'new cache entries beside the module');
  });

  it("the package's own classes' schemas ship in it: a cold serve with the built-ins and bash extracts only the module's class", {
    timeout: 100_000,
  }, async () => {
    assert.ok(existsSync(join(base, 'node_modules', 'plexus-hub', 'dist', 'schemas.json')), 'dist/schemas.json is packed');
    const module = writeModule(join(base, 'shipped'));
    const cache = join(scratch, 'cold-cache');
    const args = [hub, 'serve', module, '--with', 'bash', '--port', '0', '--data-dir', join(scratch, 'data-shipped')];
    const { url, child } = await startServing(process.execPath, args, cwd, { ...env, PLEXUS_HUB_CACHE: cache });
    try {
      const r = await exec(process.execPath, [hub, 'call', 'notes.get', '--id', '1', '--url', url], cwd, env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { id: 1, text: 'first' });
    } finally {
      stop(child);
    }
    // One schema entry, the Notes class's: the root methods, echo, health, solar and bash came from the table.
    assert.equal(readdirSync(cache).filter((f) => f.endsWith('.json')).length, 1);
  });

  it("without better-sqlite3's addon: --with arbor names the fix; activations that need nothing native still serve", {
    timeout: 100_000,
  }, async () => {
    // better-sqlite3 as npm leaves it when its install script is skipped: no build/.
    const sqlite = join(base, 'node_modules', 'better-sqlite3');
    rmSync(sqlite);
    const source = join(REPO_ROOT, 'node_modules', 'better-sqlite3');
    mkdirSync(join(sqlite, 'node_modules'), { recursive: true });
    for (const part of ['package.json', 'lib']) cpSync(join(source, part), join(sqlite, part), { recursive: true });
    for (const dep of ['bindings', 'file-uri-to-path'])
      symlinkSync(join(REPO_ROOT, 'node_modules', dep), join(sqlite, 'node_modules', dep), 'dir');
    const r = await exec(process.execPath, [hub, 'serve', '--with', 'arbor', '--port', '0', '--data-dir', join(scratch, 'data')], cwd, env);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^hub: SQLite storage needs better-sqlite3's native addon, which is not installed .*npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3/m,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    // The module of the previous test (its schemas cached by now) still serves and answers.
    await serveAndCall(join(base, 'loose', 'notes.ts'));
    assert.deepEqual(readdirSync(cwd), []);
  });
});
