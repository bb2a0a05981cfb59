import { MUSTACHE_MIGRATIONS } from '../mustache/migrations.js';
import { migrate } from '../storage/index.js';
import type { ReferenceSource } from './source.js';

/**
 * `mustache/templates.db` (reference §6.2). Same DDL as ours: copied unchanged. A
 * template is identified by its id and, as in the reference, by (plugin_id, method,
 * name); another template in hub.db under the same triple is a conflict rather than
 * an overwrite. Plugin ids are the reference's (UUIDv5 of `<namespace>@<major>`), so
 * templates stay attached to the same activations.
 */
export const MUSTACHE_SOURCE: ReferenceSource = {
  activation: 'mustache',
  file: 'templates.db',
  migrateTarget: (db) => migrate(db, 'mustache', MUSTACHE_MIGRATIONS),
  tables: [
    {
      table: 'templates',
      key: ['id'],
      unique: [['plugin_id', 'method', 'name']],
      columns: ['id', 'plugin_id', 'method', 'name', 'template', 'created_at', 'updated_at'],
    },
  ],
};
