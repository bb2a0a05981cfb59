import type { SqliteDatabase } from './sqlite.js';

/** One schema step of a component. Versions start at 1 and never change once released. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  /** SQL run as one script, or a function for steps that need code. */
  readonly up: string | ((db: SqliteDatabase) => void);
}

/**
 * Brings a component's tables to its newest version. Several components share one
 * database file, so each keeps its own version row in `schema_migrations` (instead
 * of the single `PRAGMA user_version`). Each step and its version row commit
 * together: a crash mid-migration leaves the previous version.
 */
export function migrate(db: SqliteDatabase, component: string, migrations: readonly Migration[]): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL, applied_at INTEGER NOT NULL,
    PRIMARY KEY (component, version))`);
  const current =
    (db.prepare('SELECT MAX(version) AS v FROM schema_migrations WHERE component = ?').get(component) as { v: number | null }).v ?? 0;
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > newest) {
    throw new Error(
      `${component}: the database is at schema version ${current}, newer than this code knows (${newest}); upgrade plexus-hub`,
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (component, version, description, applied_at) VALUES (?, ?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(component, m.version, m.description, Math.floor(Date.now() / 1000));
    })();
  }
  return Math.max(current, newest);
}
