/**
 * The lookup of the schemas shipped in dist/schemas.json (src/schema/shipped.ts), over a
 * package layout and a table this test writes: it answers only an exact match (file,
 * class, method keys) from a table no older than the files, and nothing otherwise, so
 * the loader falls back to extraction. Real processes over the built package:
 * test/cli/shipped-schemas.test.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExtractedClass } from '../../src/schema/extract.js';
import { ShippedSchemas, shippedSchemas } from '../../src/schema/shipped.js';

const scratch = mkdtempSync(join(tmpdir(), 'plexus-shipped-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SCHEMA: ExtractedClass = {
  description: 'Echoes.',
  methods: { echo: { description: 'Echo it.', returns: { type: 'string' }, streaming: false, args: [] } },
};

let packages = 0;
/** A package directory: activations/echo.ts, dist/activations/echo.js, then dist/schemas.json (`table`, or none), a second apart. */
function layout(table: unknown): { pkg: string; dist: string; js: string; ts: string } {
  const pkg = join(scratch, `pkg-${++packages}`);
  const dist = join(pkg, 'dist');
  mkdirSync(join(pkg, 'activations'), { recursive: true });
  mkdirSync(join(dist, 'activations'), { recursive: true });
  const ts = join(pkg, 'activations', 'echo.ts');
  const js = join(dist, 'activations', 'echo.js');
  writeFileSync(ts, 'export class Echo {}\n');
  writeFileSync(js, 'export class Echo {}\n');
  const built = Date.now() / 1000 - 60;
  utimesSync(ts, built - 2, built - 2);
  utimesSync(js, built - 1, built - 1);
  if (table !== undefined) {
    const file = join(dist, 'schemas.json');
    writeFileSync(file, typeof table === 'string' ? table : JSON.stringify(table));
    utimesSync(file, built, built);
  }
  return { pkg, dist, js, ts };
}

const TABLE = { format: 1, classes: { 'activations/echo.js': { Echo: { methodKeys: ['echo'], schema: SCHEMA } } } };

describe('the shipped schema table', () => {
  it('answers the compiled file of a class it holds, with the same method keys', () => {
    const { dist, js } = layout(TABLE);
    assert.deepEqual(new ShippedSchemas(dist).lookup({ className: 'Echo', sourceFile: js, methodKeys: ['echo'] }), SCHEMA);
  });

  it('no answer for a file outside dist/ or not compiled JavaScript: the TypeScript source, run by tsx, may have changed since', () => {
    const { pkg, dist, ts } = layout(TABLE);
    const shipped = new ShippedSchemas(dist);
    assert.equal(shipped.lookup({ className: 'Echo', sourceFile: ts, methodKeys: ['echo'] }), undefined);
    assert.equal(shipped.lookup({ className: 'Echo', sourceFile: join(pkg, 'activations', 'echo.js'), methodKeys: ['echo'] }), undefined);
    assert.equal(
      shipped.lookup({ className: 'Echo', sourceFile: join(dist, 'activations', 'echo.d.ts'), methodKeys: ['echo'] }),
      undefined,
    );
  });

  it('no answer for other method keys, another class, another file', () => {
    const { dist, js } = layout(TABLE);
    const shipped = new ShippedSchemas(dist);
    assert.equal(shipped.lookup({ className: 'Echo', sourceFile: js, methodKeys: ['echo', 'once'] }), undefined);
    assert.equal(shipped.lookup({ className: 'Echo', sourceFile: js, methodKeys: [] }), undefined);
    assert.equal(shipped.lookup({ className: 'Echo2', sourceFile: js, methodKeys: ['echo'] }), undefined);
    assert.equal(
      shipped.lookup({ className: 'toString', sourceFile: js, methodKeys: [] }),
      undefined,
      'not an entry: a property of every object',
    );
    assert.equal(
      shipped.lookup({ className: 'Echo', sourceFile: join(dist, 'activations', 'health.js'), methodKeys: ['echo'] }),
      undefined,
    );
  });

  it('no answer when the compiled file is newer than the table (dist/ rebuilt without it)', () => {
    const { dist, js } = layout(TABLE);
    const later = Date.now() / 1000;
    utimesSync(js, later, later);
    assert.equal(new ShippedSchemas(dist).lookup({ className: 'Echo', sourceFile: js, methodKeys: ['echo'] }), undefined);
  });

  it('equal times (npm pack stamps every file alike) still answer', () => {
    const { dist, js } = layout(TABLE);
    const same = new Date('1985-10-26T08:15:00Z');
    for (const f of [js, join(dist, 'schemas.json')]) utimesSync(f, same, same);
    assert.deepEqual(new ShippedSchemas(dist).lookup({ className: 'Echo', sourceFile: js, methodKeys: ['echo'] }), SCHEMA);
  });

  it('no table, a corrupt one or one of another format: no answer, no error', () => {
    for (const table of [undefined, '{not json', { format: 2, classes: TABLE.classes }, { format: 1 }]) {
      const { dist, js } = layout(table);
      assert.equal(
        new ShippedSchemas(dist).lookup({ className: 'Echo', sourceFile: js, methodKeys: ['echo'] }),
        undefined,
        JSON.stringify(table),
      );
    }
  });

  it('from the TypeScript sources (tsx) there is no table: they may have changed since a build', () => {
    assert.equal(shippedSchemas, undefined);
  });
});
