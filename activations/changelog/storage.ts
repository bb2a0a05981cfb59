import { type Clock, seconds, systemClock } from '../storage/clock.js';
import { migrate } from '../storage/migrations.js';
import type { SqliteDatabase } from '../storage/sqlite.js';
import { newId } from '../storage/uuid.js';
import { ChangelogError } from './errors.js';
import { CHANGELOG_MIGRATIONS } from './migrations.js';
import type { ChangelogEntry, HashChange, QueueEntry, QueueStatus } from './types.js';

interface EntryRow {
  hash: string;
  previous_hash: string | null;
  created_at: number;
  summary: string;
  details: string | null;
  author: string | null;
  queue_id: string | null;
}

interface QueueRow {
  id: string;
  description: string;
  tags: string;
  created_at: number;
  status: QueueStatus;
  completed_hash: string | null;
  completed_at: number | null;
}

interface ChangeRow {
  id: number;
  previous_hash: string | null;
  hash: string;
  paths: string;
  created_at: number;
}

export interface NewEntry {
  readonly hash: string;
  readonly summary: string;
  readonly previous_hash?: string;
  readonly details?: readonly string[];
  readonly author?: string;
  readonly queue_id?: string;
}

/** What the startup check found (the reference's `startup_check`). */
export interface StartupResult {
  readonly previous_hash: string | null;
  readonly hash_changed: boolean;
  readonly is_documented: boolean;
  readonly message: string;
}

const parseList = (text: string | null): string[] => {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
};

function toEntry(r: EntryRow): ChangelogEntry {
  const details = parseList(r.details);
  return {
    hash: r.hash,
    ...(r.previous_hash !== null ? { previous_hash: r.previous_hash } : {}),
    created_at: r.created_at,
    summary: r.summary,
    ...(details.length > 0 ? { details } : {}),
    ...(r.author !== null ? { author: r.author } : {}),
    ...(r.queue_id !== null ? { queue_id: r.queue_id } : {}),
  };
}

function toQueueEntry(r: QueueRow): QueueEntry {
  const tags = parseList(r.tags);
  return {
    id: r.id,
    description: r.description,
    ...(tags.length > 0 ? { tags } : {}),
    created_at: r.created_at,
    status: r.status,
    ...(r.completed_hash !== null ? { completed_hash: r.completed_hash } : {}),
    ...(r.completed_at !== null ? { completed_at: r.completed_at } : {}),
  };
}

/** changelog's tables: documented hashes, the last seen hash, the planned-change queue, recorded hash changes. */
export class ChangelogStorage {
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #sql;

  constructor(db: SqliteDatabase, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
    migrate(db, 'changelog', CHANGELOG_MIGRATIONS);
    const s = (sql: string) => db.prepare(sql);
    this.#sql = {
      upsertEntry: s(
        `INSERT OR REPLACE INTO changelog_entries (hash, previous_hash, created_at, summary, details, author, queue_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      entry: s('SELECT * FROM changelog_entries WHERE hash = ?'),
      entries: s('SELECT * FROM changelog_entries ORDER BY created_at DESC, rowid DESC'),
      lastHash: s('SELECT last_hash FROM hash_state WHERE id = 1'),
      setLastHash: s('INSERT OR REPLACE INTO hash_state (id, last_hash, updated_at) VALUES (1, ?, ?)'),
      upsertQueue: s(
        `INSERT OR REPLACE INTO queue_entries (id, description, tags, created_at, status, completed_hash, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      queueEntry: s('SELECT * FROM queue_entries WHERE id = ?'),
      queueEntries: s('SELECT * FROM queue_entries ORDER BY created_at DESC, rowid DESC'),
      completeQueue: s(`UPDATE queue_entries SET status = 'completed', completed_hash = ?, completed_at = ? WHERE id = ?`),
      insertChange: s('INSERT INTO hash_changes (previous_hash, hash, paths, created_at) VALUES (?, ?, ?, ?)'),
      changes: s('SELECT * FROM hash_changes ORDER BY id DESC LIMIT ?'),
      snapshot: s('SELECT path, hash FROM hash_snapshot'),
      clearSnapshot: s('DELETE FROM hash_snapshot'),
      snapshotRow: s('INSERT INTO hash_snapshot (path, hash) VALUES (?, ?)'),
    };
  }

  get db(): SqliteDatabase {
    return this.#db;
  }

  #now(): number {
    return seconds(this.#clock);
  }

  #tx<T>(fn: () => T): T {
    try {
      return this.#db.transaction(fn)();
    } catch (err) {
      if (err instanceof ChangelogError) throw err;
      throw ChangelogError.storage((err as Error).message);
    }
  }

  // ---- entries -------------------------------------------------------------------

  /** Documents a hash (replacing an earlier entry for it); completes the linked queue entry if there is one. */
  addEntry(e: NewEntry): ChangelogEntry {
    return this.#tx(() => {
      const now = this.#now();
      const details = e.details && e.details.length > 0 ? JSON.stringify(e.details) : null;
      this.#sql.upsertEntry.run(e.hash, e.previous_hash ?? null, now, e.summary, details, e.author ?? null, e.queue_id ?? null);
      // As in the reference: completing the queue entry is best effort (an unknown id is not an error).
      if (e.queue_id !== undefined) this.#sql.completeQueue.run(e.hash, now, e.queue_id);
      return toEntry(this.#sql.entry.get(e.hash) as EntryRow);
    });
  }

  entry(hash: string): ChangelogEntry | null {
    const row = this.#sql.entry.get(hash) as EntryRow | undefined;
    return row ? toEntry(row) : null;
  }

  /** Newest first. */
  entries(): ChangelogEntry[] {
    return (this.#sql.entries.all() as EntryRow[]).map(toEntry);
  }

  lastHash(): string | null {
    return (this.#sql.lastHash.get() as { last_hash: string } | undefined)?.last_hash ?? null;
  }

  /** The reference's start-up check: compare with the stored hash, then store the current one. */
  startupCheck(current: string): StartupResult {
    return this.#tx(() => {
      const previous = this.lastHash();
      this.#sql.setLastHash.run(current, this.#now());
      const entry = this.entry(current);
      if (previous === null)
        return { previous_hash: null, hash_changed: false, is_documented: true, message: 'First startup - no previous hash recorded' };
      if (previous === current)
        return { previous_hash: previous, hash_changed: false, is_documented: true, message: 'Plexus hash unchanged' };
      return entry
        ? {
            previous_hash: previous,
            hash_changed: true,
            is_documented: true,
            message: `Plexus changed: ${previous} -> ${current} (documented: ${entry.summary})`,
          }
        : {
            previous_hash: previous,
            hash_changed: true,
            is_documented: false,
            message: `UNDOCUMENTED PLEXUS CHANGE: ${previous} -> ${current}. Add changelog entry for hash '${current}'`,
          };
    });
  }

  // ---- queue ---------------------------------------------------------------------

  queueAdd(description: string, tags: readonly string[] = []): QueueEntry {
    return this.#tx(() => {
      const id = newId();
      this.#sql.upsertQueue.run(id, description, JSON.stringify(tags), this.#now(), 'pending', null, null);
      return toQueueEntry(this.#sql.queueEntry.get(id) as QueueRow);
    });
  }

  /** Newest first; `tag` keeps entries carrying exactly that tag. */
  queueList(tag?: string, status?: QueueStatus): QueueEntry[] {
    return (this.#sql.queueEntries.all() as QueueRow[])
      .map(toQueueEntry)
      .filter((e) => (tag === undefined || (e.tags ?? []).includes(tag)) && (status === undefined || e.status === status));
  }

  queueGet(id: string): QueueEntry | null {
    const row = this.#sql.queueEntry.get(id) as QueueRow | undefined;
    return row ? toQueueEntry(row) : null;
  }

  queueComplete(id: string, hash: string): QueueEntry {
    return this.#tx(() => {
      if (this.#sql.completeQueue.run(hash, this.#now(), id).changes === 0) throw ChangelogError.queueEntryNotFound(id);
      return toQueueEntry(this.#sql.queueEntry.get(id) as QueueRow);
    });
  }

  // ---- recorded hash changes -----------------------------------------------------------

  snapshot(): Map<string, string> {
    return new Map((this.#sql.snapshot.all() as { path: string; hash: string }[]).map((r) => [r.path, r.hash]));
  }

  /** Records a change of the root hash and the per-path hashes it led to, in one transaction. */
  recordChange(previous: string | null, hash: string, paths: readonly string[], snapshot: ReadonlyMap<string, string>): HashChange {
    return this.#tx(() => {
      const now = this.#now();
      const { lastInsertRowid } = this.#sql.insertChange.run(previous, hash, JSON.stringify(paths), now);
      this.#sql.clearSnapshot.run();
      for (const [path, h] of snapshot) this.#sql.snapshotRow.run(path, h);
      this.#sql.setLastHash.run(hash, now);
      return {
        id: Number(lastInsertRowid),
        previous_hash: previous,
        hash,
        paths: [...paths],
        created_at: now,
        is_documented: this.entry(hash) !== null,
      };
    });
  }

  /** Newest first. */
  changes(limit = 100): HashChange[] {
    return (this.#sql.changes.all(limit) as ChangeRow[]).map((r) => ({
      id: r.id,
      previous_hash: r.previous_hash,
      hash: r.hash,
      paths: parseList(r.paths),
      created_at: r.created_at,
      is_documented: this.entry(r.hash) !== null,
    }));
  }
}
