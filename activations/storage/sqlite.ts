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
  const db = newDatabase(file);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** What an install needs to do when better-sqlite3's compiled addon is absent or built for another Node. */
export const NATIVE_BINDING_FIX =
  'run `npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3` in the project that installed plexus-hub';

/**
 * better-sqlite3 loads its native addon at the first `new Database`. When npm
 * skipped its install script (install scripts not allowed by `allowScripts`) or
 * it was built for another Node version, say so and name the fix, instead of a
 * stack trace from deep inside `bindings`.
 */
function newDatabase(file: string): SqliteDatabase {
  try {
    return new Database(file);
  } catch (err) {
    const message = (err as Error).message ?? '';
    const missing = /Could not locate the bindings file|better_sqlite3\.node/.test(message);
    const mismatched = /NODE_MODULE_VERSION|compiled against a different Node\.js version/.test(message);
    if (!missing && !mismatched) throw err;
    const what = missing
      ? 'is not installed (npm did not run its install script)'
      : `was built for another Node.js version than ${process.version}`;
    throw new Error(`SQLite storage needs better-sqlite3's native addon, which ${what}: ${NATIVE_BINDING_FIX}`, { cause: err });
  }
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
