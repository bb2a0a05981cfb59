import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaLoader } from '../../src/schema/loader.js';
import { REPO_ROOT } from '../support/repo.js';

const here = join(REPO_ROOT, 'test');
const tmp = join(here, '.tmp', `cache-${process.pid}`);
const cacheDir = join(tmp, 'cache');
mkdirSync(tmp, { recursive: true });
after(() => rmSync(tmp, { recursive: true, force: true }));

const typesFile = join(tmp, 'types.ts');
const moduleFile = join(tmp, 'svc.ts');
writeFileSync(typesFile, 'export interface Out { n: number }\n');
writeFileSync(
  moduleFile,
  `import type { Out } from './types.js';
export class Svc { run(x: string): Out { return { n: x.length }; } }
`,
);
const target = { className: 'Svc', sourceFile: moduleFile, methodKeys: ['run'] };

describe('schema cache', () => {
  it('a second process-like loader reads the cache instead of compiling', async () => {
    const cold = new SchemaLoader(cacheDir);
    const a = await cold.load(target);
    assert.deepEqual(cold.stats, { hits: 0, extracted: 1 });
    const warm = new SchemaLoader(cacheDir);
    const b = await warm.load(target);
    assert.deepEqual(warm.stats, { hits: 1, extracted: 0 });
    assert.deepEqual(b, a);
  });

  it('a change in an imported type file invalidates the entry', async () => {
    writeFileSync(typesFile, 'export interface Out { n: string }\n');
    const loader = new SchemaLoader(cacheDir);
    const schema = await loader.load(target);
    assert.deepEqual(loader.stats, { hits: 0, extracted: 1 });
    assert.deepEqual((schema.methods.run!.returns as any).properties.n, { type: 'string' });
  });

  it('a corrupt entry is a miss, not a failure', async () => {
    for (const f of readdirSync(cacheDir)) writeFileSync(join(cacheDir, f), '{not json');
    const loader = new SchemaLoader(cacheDir);
    await loader.load(target);
    assert.deepEqual(loader.stats, { hits: 0, extracted: 1 });
  });

  it('requests in the same tick share one compiler run, and a broken class does not fail the others', async () => {
    const loader = new SchemaLoader(undefined);
    const broken = { className: 'Missing', sourceFile: moduleFile, methodKeys: ['x'] };
    const [ok, bad] = await Promise.allSettled([loader.load(target), loader.load(broken)]);
    assert.equal(ok.status, 'fulfilled');
    assert.equal(bad.status, 'rejected');
    assert.match(String((bad as PromiseRejectedResult).reason), /Class Missing is not declared/);
  });
});
