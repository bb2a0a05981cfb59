/**
 * A user's one-file module is imported from its linked copy on the next start (no
 * module hooks: cli/linked-module.ts), and only while that copy still holds: the same
 * source, the same copy of plexus-hub reached the same way, the same tsconfig, every
 * import a built-in or plexus-hub. Each case is a real process importing real files
 * the way `hub serve` does; the import log tells which copy it took.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT } from '../support/repo.js';
import { userProject } from '../support/user-project.js';

const DRIVER = join(REPO_ROOT, 'test', 'fixtures', 'import-user-modules.mjs');
const LOG_IMPORTS = join(REPO_ROOT, 'test', 'fixtures', 'log-imports.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'plexus-linked-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
before(() => ensureBuilt());

interface Run {
  readonly probes: unknown[];
  /** The module took its linked copy. */
  readonly linked: boolean;
  /** The module hooks were registered. */
  readonly hooks: boolean;
  readonly stderr: string;
  readonly status: number | null;
}

function importModules(modules: string[], opts: { cwd: string; cache: string }): Run {
  const run = spawnSync(process.execPath, ['--import', LOG_IMPORTS, DRIVER, ...modules], {
    cwd: opts.cwd,
    env: { ...process.env, PLEXUS_HUB_CACHE: opts.cache, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: '', PLEXUS_DEBUG_LINK: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const imports = run.stderr.split('\n').filter((l) => l.startsWith('import: '));
  const out = run.stdout.trim();
  return {
    probes: out ? (JSON.parse(out) as unknown[]) : [],
    linked: imports.some((l) => /\/modules\/linked-[0-9a-f]{64}\.mjs$/.test(l)),
    hooks: imports.some((l) => l.endsWith('/dist/cli/user-module-hooks.js')),
    stderr: run.stderr
      .split('\n')
      .filter((l) => !l.startsWith('import: '))
      .join('\n'),
    status: run.status,
  };
}

const MODULE = `import { activation, method } from 'plexus-hub';
import { PlexusError } from 'plexus-hub/wire';
import { basename } from 'node:path';
import { createRequire } from 'node:module';

/** Says hello. */
@activation('hello', { version: '1.0.0' })
export class Hello {
  /** Fails, to show where. */
  @method()
  fail(): string {
    throw new Error('failed here');
  }
}

export function probe(): unknown {
  let where = '';
  try {
    new Hello().fail();
  } catch (err) {
    where = (err as Error).stack!.split('\\n')[1]!.trim();
  }
  const version = (createRequire(import.meta.url)('plexus-hub/package.json') as { version: string }).version;
  return { url: import.meta.url, file: basename(import.meta.filename), where, version, wire: typeof PlexusError, word: WORD };
}
const WORD: string = 'one';
`;

/** A project in the scratch directory whose node_modules has plexus-hub, with the given files. */
const project = (name: string, files: Record<string, string>) => userProject(join(scratch, name), files);

function emptyDir(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('a linked user module', () => {
  it('is taken on the second start, with no hooks, and behaves as the hooked one', { timeout: 120_000 }, () => {
    const dir = project('same', { 'hello.ts': MODULE });
    const opts = { cwd: emptyDir('cwd-same'), cache: join(scratch, 'cache-same') };
    const first = importModules([join(dir, 'hello.ts')], opts);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(first.hooks && !first.linked, 'the first start goes through the hooks');
    assert.ok(
      readdirSync(join(opts.cache, 'modules')).some((f) => f.startsWith('linked-')),
      'and leaves a linked copy',
    );
    const second = importModules([join(dir, 'hello.ts')], opts);
    assert.equal(second.status, 0, second.stderr);
    assert.ok(second.linked && !second.hooks, 'the second start takes the linked copy, no hooks');
    // import.meta, the stack's file and line (the decorators read it), subpath and require resolution: all as before.
    assert.deepEqual(second.probes, first.probes);
    const probe = first.probes[0] as { url: string; where: string; file: string; wire: string };
    assert.equal(probe.url, pathToFileURL(join(dir, 'hello.ts')).href);
    assert.equal(probe.file, 'hello.ts');
    assert.match(probe.where, new RegExp(`${join(dir, 'hello.ts').replaceAll('/', '\\/')}:12:11\\)$`));
    assert.equal(probe.wire, 'function');
  });

  it('is not taken once the source changes; the changed module is linked anew', { timeout: 120_000 }, () => {
    const dir = project('edited', { 'hello.ts': MODULE });
    const opts = { cwd: emptyDir('cwd-edited'), cache: join(scratch, 'cache-edited') };
    importModules([join(dir, 'hello.ts')], opts);
    writeFileSync(join(dir, 'hello.ts'), MODULE.replace("WORD: string = 'one'", "WORD: string = 'two'"));
    const edited = importModules([join(dir, 'hello.ts')], opts);
    assert.ok(edited.hooks && !edited.linked);
    assert.equal((edited.probes[0] as { word: string }).word, 'two');
    const next = importModules([join(dir, 'hello.ts')], opts);
    assert.ok(next.linked && !next.hooks);
    assert.equal((next.probes[0] as { word: string }).word, 'two');
  });

  it('is not taken when the module no longer reaches plexus-hub the same way', { timeout: 120_000 }, () => {
    const dir = project('moved', { 'hello.ts': MODULE });
    const opts = { cwd: emptyDir('cwd-moved'), cache: join(scratch, 'cache-moved') };
    importModules([join(dir, 'hello.ts')], opts);
    // Gone: the linked copy would still find the old files; Node would not.
    renameSync(join(dir, 'node_modules'), join(dir, 'node_modules.away'));
    const gone = importModules([join(dir, 'hello.ts')], opts);
    assert.ok(!gone.linked);
    assert.notEqual(gone.status, 0);
    assert.match(gone.stderr, /Cannot find package 'plexus-hub'|ERR_MODULE_NOT_FOUND/);
    // Reached by a nearer node_modules (the same checkout, by another path): linked anew, then taken.
    renameSync(join(dir, 'node_modules.away'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'sub', 'node_modules'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'hello.ts'), MODULE);
    importModules([join(dir, 'sub', 'hello.ts')], opts);
    symlinkSync(REPO_ROOT, join(dir, 'sub', 'node_modules', 'plexus-hub'));
    const nearer = importModules([join(dir, 'sub', 'hello.ts')], opts);
    assert.ok(!nearer.linked, 'another node_modules/plexus-hub is nearer now');
    assert.equal(nearer.status, 0, nearer.stderr);
  });

  it('is not taken when a tsconfig comes into reach (its paths may map the imports)', { timeout: 120_000 }, () => {
    const dir = project('tsconfig', { 'hello.ts': MODULE });
    const opts = { cwd: emptyDir('cwd-tsconfig'), cache: join(scratch, 'cache-tsconfig') };
    importModules([join(dir, 'hello.ts')], opts);
    assert.ok(importModules([join(dir, 'hello.ts')], opts).linked);
    writeFileSync(join(opts.cwd, 'tsconfig.json'), '{}');
    const withConfig = importModules([join(dir, 'hello.ts')], opts);
    assert.ok(!withConfig.linked && withConfig.hooks);
    assert.equal(withConfig.status, 0, withConfig.stderr);
  });

  it('is never made for a module with other imports, import.meta.resolve, or with the cache off', { timeout: 120_000 }, () => {
    const dir = project('unlinkable', {
      'relative.ts': `import { WORD } from './word.js';\nexport const probe = () => WORD;\n`,
      'word.ts': `export const WORD: string = 'word';\n`,
      'package.ts': `import pad from 'pad';\nexport const probe = () => pad('x');\n`,
      'node_modules/pad/package.json': JSON.stringify({ name: 'pad', type: 'module', exports: './index.js' }),
      'node_modules/pad/index.js': `export default (s) => '[' + s + ']';\n`,
      'meta.ts': `export const probe = () => import.meta.resolve('plexus-hub').endsWith('/dist/src/index.js');\n`,
      'dynamic.ts': `const name = 'plexus-hub';\nexport const probe = async () => typeof (await import(name)).activation;\n`,
    });
    const opts = { cwd: emptyDir('cwd-unlinkable'), cache: join(scratch, 'cache-unlinkable') };
    for (const [file, said] of [
      ['relative.ts', 'word'],
      ['package.ts', '[x]'],
      ['meta.ts', true],
      ['dynamic.ts', {}],
    ] as const) {
      for (const run of ['first', 'second']) {
        const r = importModules([join(dir, file)], opts);
        assert.equal(r.status, 0, `${file} ${run}: ${r.stderr}`);
        assert.deepEqual(r.probes, [said], `${file} ${run}`);
        assert.ok(!r.linked && r.hooks, `${file} ${run}: through the hooks`);
      }
    }
    assert.deepEqual(
      readdirSync(join(opts.cache, 'modules')).filter((f) => f.startsWith('linked-')),
      [],
      'no linked copy was written',
    );
    const off = { ...opts, cache: 'off' };
    const hello = project('cache-off', { 'hello.ts': MODULE });
    for (const run of ['first', 'second']) {
      const r = importModules([join(hello, 'hello.ts')], off);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(!r.linked && r.hooks, `${run}: PLEXUS_HUB_CACHE=off links nothing`);
    }
  });

  it('is not taken when another module of the same start needs the hooks: a module exists once', { timeout: 120_000 }, (t) => {
    const dir = project('pair', {
      'a.ts': `export class A {}\nexport const probe = () => 'a';\n`,
      'b.ts': `import { A } from './a.ts';\nexport { A as FromA };\nexport const probe = (modules: Record<string, unknown>[]) => modules[0]!.A === modules[1]!.FromA;\n`,
    });
    const opts = { cwd: emptyDir('cwd-pair'), cache: join(scratch, 'cache-pair') };
    // a.ts alone gets linked (a start through the hooks writes the copy, the next takes it). This
    // test is about the rule below, so a link missed once (seen once in CI, why unknown: the
    // hooks now say why with PLEXUS_DEBUG_LINK) is noted and tried again.
    const runs: Run[] = [];
    for (let attempt = 0; attempt < 3 && !runs.at(-1)?.linked; attempt++) {
      runs.push(importModules([join(dir, 'a.ts')], opts));
      assert.equal(runs.at(-1)!.status, 0, runs.at(-1)!.stderr);
    }
    assert.ok(runs.at(-1)!.linked, `a.ts alone is linked: ${runs.map((r) => r.stderr).join(' | ')}`);
    if (runs.length > 2) t.diagnostic(`a.ts was linked only at start ${runs.length}: ${runs.map((r) => r.stderr).join(' | ')}`);
    const both = importModules([join(dir, 'a.ts'), join(dir, 'b.ts')], opts);
    assert.equal(both.status, 0, both.stderr);
    assert.ok(!both.linked && both.hooks);
    assert.deepEqual(both.probes, ['a', true], 'b.ts imports the same A that was loaded');
  });
});
