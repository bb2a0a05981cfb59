import type { SqliteDatabase } from '../storage/index.js';

/** One reference table copied into the same-named table of `hub.db`. */
export interface TableSpec {
  readonly table: string;
  /** The primary key: what "the same id" means for this table. */
  readonly key: readonly string[];
  /** Every column the reference's DDL declares; each is copied unchanged. */
  readonly columns: readonly string[];
  /** Other UNIQUE constraints of our table: a different row holding the same value is a conflict too. */
  readonly unique?: readonly (readonly string[])[];
  /** Columns older reference files lack, with the value to write instead (each documented where declared). */
  readonly absentInOlderFiles?: Readonly<Record<string, null>>;
}

/** Inserted rows and rows already present with the same content, for one table. */
export interface TableCounts {
  readonly inserted: number;
  readonly unchanged: number;
}

type Row = Record<string, unknown>;

/** What importing one table will do, worked out before anything is written. */
export interface TablePlan {
  readonly spec: TableSpec;
  readonly inserts: readonly Row[];
  readonly unchanged: number;
}

/**
 * The target already holds a row with the same id (or the same unique value) but
 * different content. Thrown before anything is written.
 */
export class SubstrateImportConflict extends Error {
  override readonly name = 'SubstrateImportConflict';
  constructor(
    readonly activation: string,
    readonly table: string,
    /** The row's key as `column=value`, joined by `, ` for composite keys. */
    readonly id: string,
    /** The first differing column (the message names all), or the columns of the UNIQUE constraint another row already holds. */
    readonly field: string,
    detail: string,
  ) {
    super(`${activation}: table ${table}, ${id}: ${detail}; nothing was imported`);
  }
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const where = (columns: readonly string[]) => columns.map((c) => `${quote(c)} = ?`).join(' AND ');
/** A value for an error message: JSON, long texts (templates, message bodies) cut to a readable length. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
const describeKey = (columns: readonly string[], row: Row) => columns.map((c) => `${c}=${String(row[c])}`).join(', ');

/** The columns a table of `db` has, or undefined when it has no such table. */
function columnsOf(db: SqliteDatabase, table: string): Set<string> | undefined {
  const rows = db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[];
  return rows.length === 0 ? undefined : new Set(rows.map((r) => r.name));
}

/** Reads a reference table in insertion order (rowid), so "ORDER BY rowid" reads stay the reference's creation order. */
function readSource(source: SqliteDatabase, activation: string, spec: TableSpec): Row[] {
  const present = columnsOf(source, spec.table);
  if (!present) throw new Error(`not a reference ${activation} database: it has no table ${spec.table}`);
  const select = spec.columns.map((c) => {
    if (present.has(c)) return quote(c);
    if (spec.absentInOlderFiles && c in spec.absentInOlderFiles) return `NULL AS ${quote(c)}`;
    throw new Error(`table ${spec.table} has no column ${c}`);
  });
  return source.prepare(`SELECT ${select.join(', ')} FROM ${quote(spec.table)} ORDER BY rowid`).all() as Row[];
}

/**
 * Compares every source row with the target: new rows are planned for insertion,
 * identical rows counted as unchanged, and any difference throws a conflict naming
 * the differing columns. Reads only; the rows are held in memory until written.
 */
export function planTable(source: SqliteDatabase, target: SqliteDatabase, activation: string, spec: TableSpec): TablePlan {
  const rows = readSource(source, activation, spec);
  const cols = spec.columns.map(quote).join(', ');
  const byKey = target.prepare(`SELECT ${cols} FROM ${quote(spec.table)} WHERE ${where(spec.key)}`);
  const byUnique = (spec.unique ?? []).map((u) => ({
    columns: u,
    find: target.prepare(`SELECT ${spec.key.map(quote).join(', ')} FROM ${quote(spec.table)} WHERE ${where(u)}`),
  }));
  const inserts: Row[] = [];
  let unchanged = 0;
  for (const row of rows) {
    const id = describeKey(spec.key, row);
    const existing = byKey.get(...spec.key.map((k) => row[k])) as Row | undefined;
    if (existing) {
      const differing = spec.columns.filter((c) => existing[c] !== row[c]);
      if (differing.length > 0) {
        const detail = differing.map((c) => `hub.db has ${c} ${shown(existing[c])}, the reference file ${shown(row[c])}`).join('; ');
        throw new SubstrateImportConflict(activation, spec.table, id, differing[0]!, detail);
      }
      unchanged++;
      continue;
    }
    for (const u of byUnique) {
      const other = u.find.get(...u.columns.map((c) => row[c])) as Row | undefined;
      if (other) {
        const field = u.columns.join(', ');
        const otherId = describeKey(spec.key, other);
        const detail = `hub.db holds another row (${otherId}) with the same ${field}: ${shown(u.columns.map((c) => row[c]).join(', '))}`;
        throw new SubstrateImportConflict(activation, spec.table, id, field, detail);
      }
    }
    inserts.push(row);
  }
  return { spec, inserts, unchanged };
}

/** Writes a plan's rows (the caller holds the transaction) and returns its counts. */
export function applyTable(target: SqliteDatabase, plan: TablePlan): TableCounts {
  const { table, columns } = plan.spec;
  const insert = target.prepare(
    `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
  );
  for (const row of plan.inserts) insert.run(row);
  return { inserted: plan.inserts.length, unchanged: plan.unchanged };
}
