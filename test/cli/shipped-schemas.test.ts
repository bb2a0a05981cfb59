/**
 * The schemas of the package's own classes ship in dist/schemas.json (scripts/
 * ship-schemas.mjs, read by src/schema/shipped.ts): a cold `hub serve` (empty schema
 * cache) runs the checker only for the user's classes, and serves the same schemas,
 * so the same root hash, as a hub built from the TypeScript sources. A copy of the
 * package whose table is missing or does not match still serves them right, by
 * extraction. The lookup itself: test/core/shipped-schemas.test.ts; the packed
 * package: package-first-run.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinActivations } from '../../activations/index.js';
import { createOptional, OPTIONAL_ACTIVATIONS, type OptionalActivation } from '../../activations/optional.js';
import { DynamicHub, PlexusClient } from '../../src/index.js';
import { ensureBuilt } from '../support/built.js';
import { startHub } from '../support/hub-process.js';
import { REPO_ROOT } from '../support/repo.js';

const scratch = mkdtempSync(join(tmpdir(), 'plexus-shipped-schemas-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const WORD = `import { activation, method } from 'plexus-hub';
/** Says a word. */
@activation('word', { version: '1.0.0' })
export class Word {
  /**
   * The word, for someone.
   * @param name - who to say it to
   */
  @method()
  say(name: string): string {
    return \`hello \${name}\`;
  }
}
`;
/** Every optional activation, arbor first (cone and claudecode need it). */
const OPTIONAL: OptionalActivation[] = ['arbor', ...OPTIONAL_ACTIVATIONS.filter((a) => a !== 'arbor')];

let dirs = 0;
function fresh(name: string): string {
  const dir = join(scratch, `${name}-${++dirs}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The schema entries a cold start left in its cache directory (one per class extracted). */
function entries(cache: string): string[] {
  return existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.json')) : [];
}

/** `hub serve` (of `bin`) from an empty cwd and HOME with an empty schema cache: its root hash and the cache's entries. */
async function coldServe(
  args: string[],
  bin?: string,
): Promise<{ hash: string; entries: string[]; url: string; stop: () => Promise<unknown> }> {
  const cache = join(fresh('cache'), 'plexus-hub');
  const hub = await startHub({
    args: [...args, '--data-dir', fresh('data')],
    cwd: fresh('cwd'),
    env: { PLEXUS_HUB_CACHE: cache, HOME: fresh('home'), XDG_CACHE_HOME: '' },
    ...(bin ? { bin } : {}),
  });
  const hash = /\(hash ([0-9a-f]{16})\)/.exec(hub.output())?.[1];
  assert.ok(hash, hub.output());
  return { hash, entries: entries(cache), url: hub.url, stop: () => hub.stop() };
}

/** The root hash of the same hub built in this process from the TypeScript sources, its schemas extracted now (no cache). */
async function hashFromSources(): Promise<string> {
  const setting = process.env.PLEXUS_HUB_CACHE;
  process.env.PLEXUS_HUB_CACHE = 'off';
  const optional = await createOptional(OPTIONAL, fresh('data'));
  try {
    const hub = new DynamicHub('plexus');
    hub.register(...builtinActivations(), ...optional.activations);
    await hub.ready();
    return hub.hash();
  } finally {
    optional.close();
    if (setting === undefined) delete process.env.PLEXUS_HUB_CACHE;
    else process.env.PLEXUS_HUB_CACHE = setting;
  }
}

/** A copy of the built package (its own dist/, the sources and node_modules linked) with `table` as dist/schemas.json, or none. */
function packageCopy(table: ((shipped: any) => unknown) | undefined): string {
  const pkg = fresh('package');
  cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  const shipped = JSON.parse(readFileSync(join(pkg, 'dist', 'schemas.json'), 'utf8'));
  rmSync(join(pkg, 'dist', 'schemas.json'));
  // Written after the copy of dist/: a table older than the files it names is not used.
  if (table) writeFileSync(join(pkg, 'dist', 'schemas.json'), JSON.stringify(table(shipped)));
  for (const dir of ['src', 'activations', 'cli', 'codegen', 'schema', 'node_modules'])
    symlinkSync(join(REPO_ROOT, dir), join(pkg, dir), 'dir');
  copyFileSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
  mkdirSync(join(pkg, 'bin'));
  copyFileSync(join(REPO_ROOT, 'bin', 'hub.js'), join(pkg, 'bin', 'hub.js'));
  return join(pkg, 'bin', 'hub.js');
}

describe('the schemas shipped with the package', { timeout: 240_000 }, () => {
  let fromSources: string;
  before(async () => {
    ensureBuilt();
    fromSources = await hashFromSources();
  });

  it('a cold hub serve of the built-in and optional activations extracts none, and has the root hash of the sources', async () => {
    const hub = await coldServe(['--with', OPTIONAL.join(',')]);
    await hub.stop();
    assert.deepEqual(hub.entries, [], 'no class was extracted');
    assert.equal(hub.hash, fromSources);
  });

  it("a cold hub serve of a one-file module extracts only the module's class", async () => {
    const project = fresh('project');
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(REPO_ROOT, join(project, 'node_modules', 'plexus-hub'), 'dir');
    writeFileSync(join(project, 'word.ts'), WORD);
    const hub = await coldServe([join(project, 'word.ts'), '--with', 'mustache']);
    const client = new PlexusClient({ url: hub.url });
    try {
      assert.equal(await client.result('word.say', { name: 'Ada' }), 'hello Ada');
    } finally {
      client.close();
      await hub.stop();
    }
    assert.equal(hub.entries.length, 1, `one entry, the Word class's: ${hub.entries.join(', ')}`);
  });

  it('a class of the package imported by a .ts module (after the module hooks and source maps are on) is shipped too', async () => {
    const project = fresh('project');
    // bash is not loaded yet when the module imports it: its decorator runs after the module hooks and source maps are on.
    writeFileSync(
      join(project, 'with-bash.ts'),
      `export { Bash } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'activations', 'bash.js'))};\n`,
    );
    const hub = await coldServe([join(project, 'with-bash.ts')]);
    await hub.stop();
    assert.deepEqual(hub.entries, [], 'no class was extracted');
  });

  it('a package without the table extracts every class, to the same root hash', async () => {
    const hub = await coldServe(['--with', OPTIONAL.join(',')], packageCopy(undefined));
    await hub.stop();
    // RootMethods, Echo, Health, Solar, CelestialBody and the six optional ones.
    assert.equal(hub.entries.length, 11, hub.entries.join(', '));
    assert.equal(hub.hash, fromSources);
  });

  it('a table that does not match (other method keys for Echo, no Health) is not used for those classes: the same root hash', async () => {
    const bin = packageCopy((shipped) => {
      const echo = shipped.classes['activations/echo.js'].Echo;
      // Wrong on purpose: were it used, the hash would change.
      echo.methodKeys = [...echo.methodKeys, 'more'];
      echo.schema.description = 'not the real one';
      delete shipped.classes['activations/health.js'].Health;
      return shipped;
    });
    const hub = await coldServe(['--with', OPTIONAL.join(',')], bin);
    await hub.stop();
    assert.equal(hub.entries.length, 2, `Echo's and Health's: ${hub.entries.join(', ')}`);
    assert.equal(hub.hash, fromSources);
  });
});
