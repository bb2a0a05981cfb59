import type { Migration } from '../storage/migrations.js';

export const CHANGELOG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'reference schema: changelog_entries, hash_state, queue_entries',
    up: `
      CREATE TABLE IF NOT EXISTS changelog_entries (hash TEXT PRIMARY KEY, previous_hash TEXT, created_at INTEGER NOT NULL,
        summary TEXT NOT NULL, details TEXT, author TEXT, queue_id TEXT);
      CREATE TABLE IF NOT EXISTS hash_state (id INTEGER PRIMARY KEY CHECK (id = 1), last_hash TEXT NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS queue_entries (id TEXT PRIMARY KEY, description TEXT NOT NULL, tags TEXT NOT NULL,
        created_at INTEGER NOT NULL, status TEXT NOT NULL, completed_hash TEXT, completed_at INTEGER);
    `,
  },
  {
    version: 2,
    description: 'recorded root-hash changes and the per-path hashes of the last one, to tell which paths changed',
    up: `
      CREATE TABLE hash_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, previous_hash TEXT, hash TEXT NOT NULL,
        paths TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE hash_snapshot (path TEXT PRIMARY KEY, hash TEXT NOT NULL) WITHOUT ROWID;
    `,
  },
];
