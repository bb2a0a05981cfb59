import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
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

  /** The shipped schema of `target`, when the table has its class with the same method keys and is not older than its file. */
  lookup(target: ExtractTarget): ExtractedClass | undefined {
    // The compiled file, as the decorator names it (dist .js files keep their own names in stack traces).
    const file = relative(this.#dist, target.sourceFile);
    if (file === '' || file.startsWith('..') || isAbsolute(file) || !file.endsWith('.js')) return undefined;
    const table = this.#load();
    const entry = table && own(own(table.classes, file.split(sep).join('/')), target.className);
    if (!table || !entry || !sameKeys(entry.methodKeys, target.methodKeys)) return undefined;
    // A file written after the table (dist/ rebuilt without it) means the table may be stale.
    if (!(mtimeOf(target.sourceFile) <= table.mtimeMs)) return undefined;
    return entry.schema;
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

/** `record[key]` when the record has it itself (a class named `toString` is not in the table). */
function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

function sameKeys(a: unknown, b: readonly string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((k, i) => k === b[i]);
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
