import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamicHub, type PluginSchema } from '../../src/index.js';
import { Kitchen } from '../fixtures/kitchen.js';
import { collect, contents } from '../support/helpers.js';
import { REPO_ROOT as root } from '../support/repo.js';

/**
 * The same activation run from `tsc` output instead of tsx: types must come from
 * the original source (via the source map) or from the emitted `.d.ts`.
 */
const out = join(root, 'test', '.tmp', `compiled-${process.pid}`);

function removeMaps(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) removeMaps(p);
    else if (name.endsWith('.map')) unlinkSync(p);
  }
}

async function schemaFrom(dir: string): Promise<PluginSchema> {
  const mod = await import(pathToFileURL(join(dir, 'test', 'fixtures', 'kitchen.js')).href);
  const hub = new DynamicHub().register(new mod.Kitchen());
  const items = await collect(hub.call('kitchen.tree', { depth: 0 }));
  assert.deepEqual(contents(items), [{ value: 0, children: [] }]);
  return (await hub.schema('kitchen')) as PluginSchema;
}

describe('compiled tsc output', () => {
  let expected: PluginSchema;
  before(async () => {
    mkdirSync(out, { recursive: true });
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(
      process.execPath,
      [
        tsc,
        'test/fixtures/kitchen.ts',
        '--outDir',
        join(out, 'mapped'),
        '--rootDir',
        '.',
        '--declaration',
        '--sourceMap',
        '--experimentalDecorators',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--target',
        'ES2022',
        '--skipLibCheck',
        '--types',
        'node',
      ],
      { cwd: root },
    );
    cpSync(join(out, 'mapped'), join(out, 'dts'), { recursive: true });
    removeMaps(join(out, 'dts'));
    expected = (await new DynamicHub().register(new Kitchen()).schema('kitchen')) as PluginSchema;
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('reads the original TypeScript through the source map: identical schema and hashes', async () => {
    assert.deepEqual(await schemaFrom(join(out, 'mapped')), expected);
  });

  it('reads the emitted .d.ts when there is no source map: same types, defaults aside', async () => {
    const fromDts = await schemaFrom(join(out, 'dts'));
    assert.equal(fromDts.description, expected.description);
    for (const [i, m] of fromDts.methods.entries()) {
      const e = expected.methods[i]!;
      assert.equal(m.name, e.name);
      assert.equal(m.description, e.description);
      assert.equal(m.streaming, e.streaming);
      assert.deepEqual(m.returns, e.returns);
      // A .d.ts keeps `mode?:` but not its default value.
      const strip = (s: any) => s && JSON.parse(JSON.stringify(s), (k, v) => (k === 'default' ? undefined : v));
      assert.deepEqual(strip(m.params), strip(e.params));
    }
  });
});
