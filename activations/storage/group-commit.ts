import type { SqliteDatabase } from './sqlite.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit: the calls that run in one turn of the event loop (e.g. the 64
 * requests one WebSocket read delivers) share one SQLite transaction, committed
 * when the turn ends. Each call runs in its own savepoint, so a failing call rolls
 * back only its own writes; its answer waits for the commit, so nothing is
 * acknowledged before it is durable, and a crash leaves the state before the batch.
 * One commit per turn instead of one per call is what makes concurrent writers fast.
 */
export class GroupCommit {
  #waiters: Waiter[] | undefined;

  constructor(private readonly db: SqliteDatabase) {}

  /** Runs `fn` now, inside the turn's transaction; resolves with its result once that transaction committed. */
  run<T>(fn: () => T): Promise<T> {
    if (!this.#waiters) {
      // Someone holds an explicit transaction across turns: join it as a plain savepoint.
      if (this.db.inTransaction) return Promise.resolve().then(() => this.db.transaction(fn)());
      this.db.exec('BEGIN IMMEDIATE');
      this.#waiters = [];
      setImmediate(() => this.#commit());
    }
    let result: T;
    try {
      result = this.db.transaction(fn)(); // a savepoint inside the open batch
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => this.#waiters!.push({ resolve: () => resolve(result), reject }));
  }

  #commit(): void {
    const waiters = this.#waiters!;
    this.#waiters = undefined;
    try {
      if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
      else if (!this.db.open) throw new Error('The database connection is not open');
    } catch (err) {
      try {
        if (this.db.open && this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // Nothing more to undo.
      }
      for (const w of waiters) w.reject(err);
      return;
    }
    for (const w of waiters) w.resolve();
  }
}

const shared = new WeakMap<SqliteDatabase, GroupCommit>();

/** The database's one group-commit batcher (activations sharing a file share it too). */
export function groupCommit(db: SqliteDatabase): GroupCommit {
  let g = shared.get(db);
  if (!g) shared.set(db, (g = new GroupCommit(db)));
  return g;
}
