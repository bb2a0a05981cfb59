import { type Clock, seconds, systemClock } from '../storage/clock.js';
import { migrate } from '../storage/migrations.js';
import type { SqliteDatabase } from '../storage/sqlite.js';
import { newId } from '../storage/uuid.js';
import { MustacheError } from './errors.js';
import { MUSTACHE_MIGRATIONS } from './migrations.js';
import type { TemplateInfo } from './types.js';

interface TemplateRow extends TemplateInfo {
  template: string;
}

const info = ({ template: _source, ...rest }: TemplateRow): TemplateInfo => rest;

/** The template registry's table. */
export class MustacheStorage {
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #sql;

  constructor(db: SqliteDatabase, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
    migrate(db, 'mustache', MUSTACHE_MIGRATIONS);
    const s = (sql: string) => db.prepare(sql);
    this.#sql = {
      // An existing row keeps its id and created_at (the reference's upsert).
      upsert:
        s(`INSERT INTO templates (id, plugin_id, method, name, template, created_at, updated_at) VALUES (@id, @plugin_id, @method, @name, @template, @now, @now)
        ON CONFLICT (plugin_id, method, name) DO UPDATE SET template = excluded.template, updated_at = excluded.updated_at`),
      get: s('SELECT * FROM templates WHERE plugin_id = ? AND method = ? AND name = ?'),
      list: s('SELECT * FROM templates WHERE plugin_id = ? ORDER BY method, name'),
      delete: s('DELETE FROM templates WHERE plugin_id = ? AND method = ? AND name = ?'),
    };
  }

  #run<T>(fn: () => T): T {
    try {
      return this.#db.transaction(fn)();
    } catch (err) {
      if (err instanceof MustacheError) throw err;
      throw MustacheError.storage((err as Error).message);
    }
  }

  register(plugin_id: string, method: string, name: string, template: string): TemplateInfo {
    return this.#run(() => {
      this.#sql.upsert.run({ id: newId(), plugin_id, method, name, template, now: seconds(this.#clock) });
      return info(this.#sql.get.get(plugin_id, method, name) as TemplateRow);
    });
  }

  /** The template source, or undefined. */
  get(plugin_id: string, method: string, name: string): string | undefined {
    return this.#run(() => (this.#sql.get.get(plugin_id, method, name) as TemplateRow | undefined)?.template);
  }

  list(plugin_id: string): TemplateInfo[] {
    return this.#run(() => (this.#sql.list.all(plugin_id) as TemplateRow[]).map(info));
  }

  /** Rows deleted: 0 or 1. */
  delete(plugin_id: string, method: string, name: string): number {
    return this.#run(() => this.#sql.delete.run(plugin_id, method, name).changes);
  }
}
