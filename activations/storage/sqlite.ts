import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { resolveDataDir } from '../../src/index.js';

export type SqliteDatabase = Database.Database;

/** The file every storage activation shares inside a data dir. */
export const DATABASE_FILE = 'hub.db';

/**
 * Opens (creating it and its directory if needed) a SQLite database: a file path,
 * or `:memory:`. WAL journal, foreign keys on (as the reference's sqlx does, so its
 * `ON DELETE CASCADE` clauses are live), synchronous=NORMAL (durable across process
 * crashes in WAL mode; a power loss may drop the last commits, never corrupt).
 */
export function openDatabase(file: string): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  const db = new Database(file);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** The database of a data dir: `<dir>/hub.db`. */
export function openDataDir(dir: string = resolveDataDir()): SqliteDatabase {
  return openDatabase(join(dir, DATABASE_FILE));
}

/** Where an activation's storage lives: an open database (shared), a file path, or `:memory:`. */
export type DatabaseOption = SqliteDatabase | string;

/** Opens the option's database; `owned` says whether the caller must close it. */
export function resolveDatabase(option: DatabaseOption | undefined): { db: SqliteDatabase; owned: boolean } {
  if (option === undefined) return { db: openDataDir(), owned: true };
  if (typeof option === 'string') return { db: openDatabase(option), owned: true };
  return { db: option, owned: false };
}
