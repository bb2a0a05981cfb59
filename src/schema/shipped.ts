import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExtractedClass, ExtractTarget } from './extract.js';

/**
 * The schemas of this package's own `@activation` classes (the root methods, the
 * built-in and optional activations), extracted when the package was built
 * (scripts/ship-schemas.mjs writes dist/schemas.json): their sources never change
 * within a build, so a cold start need not run the checker for them. Anything that
 * does not match exactly answers `undefined`, and the loader takes its usual path.
 */

interface ShippedClass {
  readonly methodKeys: readonly string[];
  readonly schema: ExtractedClass;
}

export interface ShippedTable {
  readonly format: 1;
  /** By file relative to dist/ (`/`-separated, e.g. `activations/echo.js`), then class name. */
  readonly classes: Readonly<Record<string, Readonly<Record<string, ShippedClass>>>>;
}

/**
 * dist/ when this module runs compiled from it: its own URL (in a bundle chunk, the one
 * bundle-framework.mjs writes for it) names dist/src/schema/shipped.js. From the
 * TypeScript sources (tsx) there is no table: the sources may have changed since a build.
 */
function distDirectory(url: string): string | undefined {
  return url.endsWith('/dist/src/schema/shipped.js') ? fileURLToPath(new URL('../../', url)) : undefined;
}

export class ShippedSchemas {
  readonly #dist: string;
  #table: { readonly classes: ShippedTable['classes']; readonly mtimeMs: number } | null | undefined;

  /** `dist` holds schemas.json and the compiled files it names. */
  constructor(dist: string) {
    this.#dist = dist;
  }

  /** The shipped schema of `target`, when the table has its class with the same method keys and is not older than its files. */
  lookup(target: ExtractTarget): ExtractedClass | undefined {
    const files = this.#filesOf(target.sourceFile);
    if (!files) return undefined;
    const table = this.#load();
    const entry = table?.classes[files.key]?.[target.className];
    if (!table || !entry || !sameKeys(entry.methodKeys, target.methodKeys)) return undefined;
    // A file written after the table (dist/ rebuilt without it, a source edited since) means the table may be stale.
    if (files.paths.some((f) => !(mtimeOf(f) <= table.mtimeMs))) return undefined;
    return entry.schema;
  }

  /**
   * The table key of a module of this package, and the files it was built from. The
   * compiled file (dist/activations/echo.js), or its source (activations/echo.ts) when
   * stack traces are source-mapped (`hub serve` of a .ts module turns that on before
   * the optional activations load).
   */
  #filesOf(sourceFile: string): { key: string; paths: string[] } | undefined {
    const inDist = relative(this.#dist, sourceFile);
    if (within(inDist) && inDist.endsWith('.js')) return { key: inDist.split(sep).join('/'), paths: [sourceFile] };
    const inPackage = relative(dirname(this.#dist), sourceFile);
    if (!within(inPackage) || !/\.ts$/.test(inPackage) || inPackage.endsWith('.d.ts') || inPackage.split(sep)[0] === 'node_modules')
      return undefined;
    const key = inPackage.replace(/\.ts$/, '.js').split(sep).join('/');
    return { key, paths: [sourceFile, join(this.#dist, key)] };
  }

  #load(): { readonly classes: ShippedTable['classes']; readonly mtimeMs: number } | undefined {
    if (this.#table === undefined) {
      this.#table = null;
      try {
        const file = join(this.#dist, 'schemas.json');
        const mtimeMs = statSync(file).mtimeMs;
        const table = JSON.parse(readFileSync(file, 'utf8')) as ShippedTable;
        if (table.format === 1 && typeof table.classes === 'object' && table.classes) this.#table = { classes: table.classes, mtimeMs };
      } catch {
        // No table (a build without it) or an unreadable one: every class takes the usual path.
      }
    }
    return this.#table ?? undefined;
  }
}

function within(rel: string): boolean {
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Number.NaN; // gone: not comparable, so not shipped
  }
}

const dist = distDirectory(import.meta.url);
/** The table of the running package, when it runs compiled from dist/. */
export const shippedSchemas: ShippedSchemas | undefined = dist ? new ShippedSchemas(dist) : undefined;
