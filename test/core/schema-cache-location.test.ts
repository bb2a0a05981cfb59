// Where schemas are cached (beside the module or in the user cache, never the cwd),
// and that a cold load leaves the TypeScript compiler out of the process.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDirectoryFor } from '../../src/schema/loader.js';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT } from '../support/repo.js';

const scratch = mkdtempSync(join(tmpdir(), 'plexus-cache-where-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

describe('where the schema cache lives', () => {
  const xdg = join(scratch, 'xdg');
  const env = { PLEXUS_HUB_CACHE: undefined, XDG_CACHE_HOME: xdg };

  it('a project with node_modules: its node_modules/.cache, from any depth of its sources', () => {
    const project = join(scratch, 'proj');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    mkdirSync(join(project, 'src', 'deep'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{}');
    assert.equal(
      withEnv(env, () => cacheDirectoryFor(join(project, 'src', 'deep', 'a.ts'))),
      join(project, 'node_modules', '.cache', 'plexus-hub'),
    );
  });

  it('a module inside node_modules (plexus-hub itself): the project that installed it', () => {
    const project = join(scratch, 'app');
    const file = join(project, 'node_modules', 'plexus-hub', 'dist', 'activations', 'echo.ts');
    mkdirSync(join(project, 'node_modules', 'plexus-hub', 'dist', 'activations'), { recursive: true });
    assert.equal(
      withEnv(env, () => cacheDirectoryFor(file)),
      join(project, 'node_modules', '.cache', 'plexus-hub'),
    );
  });

  it('a project without node_modules, or no project at all: $XDG_CACHE_HOME/plexus-hub, else ~/.cache/plexus-hub', () => {
    const bare = join(scratch, 'bare');
    mkdirSync(bare);
    writeFileSync(join(bare, 'package.json'), '{}');
    assert.equal(
      withEnv(env, () => cacheDirectoryFor(join(bare, 'x.ts'))),
      join(xdg, 'plexus-hub'),
    );
    const home = join(scratch, 'home');
    assert.equal(
      withEnv({ ...env, XDG_CACHE_HOME: undefined, HOME: home }, () => cacheDirectoryFor(join(scratch, 'loose', 'x.ts'))),
      join(home, '.cache', 'plexus-hub'),
    );
  });

  it('PLEXUS_HUB_CACHE overrides it, and off disables the cache', () => {
    assert.equal(
      withEnv({ PLEXUS_HUB_CACHE: join(scratch, 'c') }, () => cacheDirectoryFor('/x/y.ts')),
      join(scratch, 'c'),
    );
    assert.equal(
      withEnv({ PLEXUS_HUB_CACHE: 'off' }, () => cacheDirectoryFor('/x/y.ts')),
      undefined,
    );
  });
});

describe('a cold schema load', () => {
  it('extracts in a child process: the TypeScript compiler is never loaded in the process, and the cwd stays empty', {
    timeout: 110_000,
  }, async () => {
    ensureBuilt();
    const cwd = join(scratch, 'cwd');
    mkdirSync(cwd);
    const script = `
      import { createRequire } from 'node:module';
      const { SchemaLoader } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'schema', 'loader.js'))});
      const loader = new SchemaLoader(${JSON.stringify(join(scratch, 'cold-cache'))});
      const schema = await loader.load({ className: 'Echo', sourceFile: ${JSON.stringify(join(REPO_ROOT, 'dist', 'activations', 'echo.js'))}, methodKeys: ['once'] });
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /[\\\\/]typescript[\\\\/]lib[\\\\/]typescript\\.js$/.test(f));
      console.log(JSON.stringify({ extracted: loader.stats.extracted, methods: Object.keys(schema.methods), loaded }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd });
    assert.deepEqual(JSON.parse(stdout), { extracted: 1, methods: ['once'], loaded: [] });
    assert.deepEqual(readdirSync(cwd), []);
  });

  it('one extractor process serves a burst of loads, then leaves once idle', { timeout: 110_000 }, async () => {
    ensureBuilt();
    const script = `
      import { readFileSync } from 'node:fs';
      const { SchemaLoader } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'schema', 'loader.js'))});
      const children = () => readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8').trim().split(' ').filter(Boolean);
      const loader = new SchemaLoader(${JSON.stringify(join(scratch, 'burst-cache'))});
      const sourceFile = ${JSON.stringify(join(REPO_ROOT, 'dist', 'activations', 'echo.js'))};
      await loader.load({ className: 'Echo', sourceFile, methodKeys: ['once'] });
      const first = children();
      await loader.load({ className: 'Echo', sourceFile, methodKeys: ['echo'] });
      const second = children();
      // Idle 1 s, it leaves: polled (a fixed 2.5 s wait cost every run 2.5 s and still failed
      // on a loaded machine), with a deadline far past the idle time.
      for (const until = Date.now() + 10_000; children().length > 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
      console.log(JSON.stringify({ extracted: loader.stats.extracted, first, second, later: children() }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const { extracted, first, second, later } = JSON.parse(stdout);
    assert.equal(extracted, 2);
    assert.equal(first.length, 1, 'the extractor stays for the next load');
    assert.deepEqual(second, first, 'the second load used the same process');
    assert.deepEqual(later, [], 'idle, it left');
  });
});
