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
import { applyTable, planTable, SubstrateImportConflict, type TableCounts, type TablePlan } from './tables.js';

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

/** Read-only: the import never changes the reference's files. */
function openSource(source: ReferenceSource, file: string): SqliteDatabase {
  try {
    return new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`${source.activation}: cannot open ${file}: ${(err as Error).message}`);
  }
}

/** Creates our tables (in the caller's transaction) and checks every row; a file that is not the reference's is named. */
function planSource(source: ReferenceSource, file: string, from: SqliteDatabase, db: SqliteDatabase): TablePlan[] {
  source.migrateTarget(db);
  try {
    return source.tables.map((t) => planTable(from, db, source.activation, t));
  } catch (err) {
    if (err instanceof SubstrateImportConflict) throw err;
    throw new Error(`${source.activation}: cannot read ${file}: ${(err as Error).message}`);
  }
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
    const outcomes = new Map<SubstrateActivation, ActivationImport>();
    for (const { source, file } of found) {
      if (file) opened.push({ source, file, db: openSource(source, file) });
    }
    db.transaction(() => {
      const plans = opened.map((o) => ({ ...o, tables: planSource(o.source, o.file, o.db, db) }));
      for (const p of plans) {
        const tables = Object.fromEntries(p.tables.map((t) => [t.spec.table, applyTable(db, t)]));
        outcomes.set(p.source.activation, { status: 'imported', file: p.file, tables });
      }
    })();
    const activations = Object.fromEntries(
      found.map(({ source, looked }) => [source.activation, outcomes.get(source.activation) ?? { status: 'missing', looked_for: looked }]),
    ) as Record<SubstrateActivation, ActivationImport>;
    return { from: dir, activations };
  } finally {
    for (const o of opened) o.db.close();
  }
}
