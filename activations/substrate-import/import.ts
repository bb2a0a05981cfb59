import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SqliteDatabase } from '../storage/index.js';
import { ARBOR_SOURCE } from './arbor.js';
import { CHANGELOG_SOURCE } from './changelog.js';
import { CLAUDECODE_SOURCE } from './claudecode.js';
import { CONE_SOURCE } from './cone.js';
import { MUSTACHE_SOURCE } from './mustache.js';
import type { ReferenceSource, SubstrateActivation } from './source.js';
import { applyTable, planTable, type TableCounts, type TablePlan } from './tables.js';

/** Arbor first: the others' rows point at its trees (though no foreign key crosses activations). */
const SOURCES: readonly ReferenceSource[] = [ARBOR_SOURCE, CONE_SOURCE, CLAUDECODE_SOURCE, CHANGELOG_SOURCE, MUSTACHE_SOURCE];

/** What happened to one reference activation's file. */
export type ActivationImport =
  | { readonly status: 'imported'; readonly file: string; readonly tables: Readonly<Record<string, TableCounts>> }
  | { readonly status: 'missing'; readonly looked_for: readonly string[] };

/** The result of `importSubstrate`: per activation, per table, what was inserted or already there. */
export interface SubstrateImportReport {
  readonly from: string;
  readonly activations: Readonly<Record<SubstrateActivation, ActivationImport>>;
}

export interface SubstrateImportOptions {
  /** The reference's data dir: `~/.plexus/substrate` (files under `activations/<name>/`), or a directory holding the bare files. */
  readonly from: string;
  /** The target, normally `<data dir>/hub.db` (see `openDataDir`). */
  readonly db: SqliteDatabase;
}

/**
 * Where the reference keeps an activation's file, newest layout first: the data dir
 * (`activations/<name>/<file>`), its `activations` folder (`<name>/<file>`), and the
 * oldest generation's bare files in one directory.
 */
function candidates(dir: string, source: ReferenceSource): string[] {
  return [join(dir, 'activations', source.activation, source.file), join(dir, source.activation, source.file), join(dir, source.file)];
}

/**
 * Copies the reference's SQLite files into `hub.db`. Everything is checked before
 * anything is written, and all of it commits as one transaction: either every
 * present file is imported or nothing is (our tables are created in the same
 * transaction). Rows already present with the same content are counted as unchanged,
 * so a second run inserts nothing; a row with the same id (or unique name) but
 * different content throws `SubstrateImportConflict`. Missing files are reported.
 */
export function importSubstrate({ from, db }: SubstrateImportOptions): SubstrateImportReport {
  const dir = resolve(from);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`substrate import: ${dir} is not a directory`);
  const found = SOURCES.map((source) => {
    const looked = candidates(dir, source);
    return { source, looked, file: looked.find((f) => existsSync(f)) };
  });
  const opened: { source: ReferenceSource; file: string; db: SqliteDatabase }[] = [];
  try {
    for (const { source, file } of found) {
      if (file) opened.push({ source, file, db: new Database(file, { readonly: true, fileMustExist: true }) });
    }
    const imported = db.transaction(() => {
      const plans: { source: ReferenceSource; file: string; tables: TablePlan[] }[] = [];
      for (const o of opened) {
        o.source.migrateTarget(db);
        plans.push({ source: o.source, file: o.file, tables: o.source.tables.map((t) => planTable(o.db, db, o.source.activation, t)) });
      }
      return plans.map((p) => ({
        activation: p.source.activation,
        file: p.file,
        tables: Object.fromEntries(p.tables.map((t) => [t.spec.table, applyTable(db, t)])),
      }));
    })();
    const activations = {} as Record<SubstrateActivation, ActivationImport>;
    for (const { source, looked, file } of found) {
      const done = imported.find((i) => i.activation === source.activation);
      activations[source.activation] =
        done && file ? { status: 'imported', file, tables: done.tables } : { status: 'missing', looked_for: looked };
    }
    return { from: dir, activations };
  } finally {
    for (const o of opened) o.db.close();
  }
}
