import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
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

describe('schema cache: a dependency vouched for by its stamp', () => {
  const dir = join(tmp, 'stamps');
  const types = join(dir, 'types.ts');
  const mod = join(dir, 'svc.ts');
  const svc = { className: 'Svc', sourceFile: mod, methodKeys: ['run'] };
  const hourAgo = new Date(Date.now() - 3_600_000);
  /** Rewrites the file in place (same inode, same size), its mtime set back to `mtime` when given. */
  const rewrite = (text: string, mtime?: Date) => {
    const fd = openSync(types, 'r+');
    writeSync(fd, text, 0);
    closeSync(fd);
    if (mtime) utimesSync(types, mtime, mtime);
  };

  it('an old file with its old size, mtime and inode is not read again (as git trusts its index)', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(types, 'export interface Out { n: number }\n');
    writeFileSync(mod, `import type { Out } from './types.js';\nexport class Svc { run(x: string): Out { return { n: x.length }; } }\n`);
    utimesSync(types, hourAgo, hourAgo);
    const cache = join(dir, 'cache-old');
    assert.deepEqual(
      (await new SchemaLoader(cache).load(svc)).methods.run!.returns,
      (await new SchemaLoader(cache).load(svc)).methods.run!.returns,
    );
    // Same size, same inode, the mtime put back: only reading the file would tell. The
    // entry is taken as it stands: what a warm start saves, and the trade-off git makes too.
    rewrite('export interface Out { n: string }\n', hourAgo);
    const trusting = new SchemaLoader(cache);
    await trusting.load(svc);
    assert.deepEqual(trusting.stats, { hits: 1, extracted: 0 });
    // Any write that moves the mtime (every ordinary write does) is read and hashed.
    rewrite('export interface Out { n: string }\n');
    const reading = new SchemaLoader(cache);
    const schema = await reading.load(svc);
    assert.deepEqual(reading.stats, { hits: 0, extracted: 1 });
    assert.deepEqual((schema.methods.run!.returns as { properties: { n: unknown } }).properties.n, { type: 'string' });
  });

  it('a file written just before it was hashed is read again, even with its stamp put back', async () => {
    writeFileSync(types, 'export interface Out { n: number }\n');
    const written = statSync(types).mtime;
    const cache = join(dir, 'cache-recent');
    await new SchemaLoader(cache).load(svc);
    // Within RACY_MS of the hashing a second write could keep the mtime (coarse file times): the stamp proves nothing.
    rewrite('export interface Out { n: string }\n', written);
    const loader = new SchemaLoader(cache);
    const schema = await loader.load(svc);
    assert.deepEqual(loader.stats, { hits: 0, extracted: 1 });
    assert.deepEqual((schema.methods.run!.returns as { properties: { n: unknown } }).properties.n, { type: 'string' });
  });
});
