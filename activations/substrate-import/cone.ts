import { CONE_MIGRATIONS } from '../cone/migrations.js';
import { migrate } from '../storage/index.js';
import type { ReferenceSource } from './source.js';

/**
 * `cone/cones.db` (reference §2.3). Same DDL as ours: copied unchanged, including the
 * negative `created_at` that marks ephemeral messages and the `role` strings. A cone
 * whose name another cone in hub.db already has is a conflict (the name is UNIQUE and
 * is how cones are addressed), never renamed. The trees the cones point at come from
 * arbor.db in the same import.
 */
export const CONE_SOURCE: ReferenceSource = {
  activation: 'cone',
  file: 'cones.db',
  migrateTarget: (db) => migrate(db, 'cone', CONE_MIGRATIONS),
  tables: [
    {
      table: 'cones',
      key: ['id'],
      unique: [['name']],
      columns: ['id', 'name', 'model_id', 'system_prompt', 'tree_id', 'canonical_head', 'metadata', 'created_at', 'updated_at'],
    },
    {
      table: 'messages',
      key: ['id'],
      columns: ['id', 'cone_id', 'role', 'content', 'model_id', 'input_tokens', 'output_tokens', 'created_at'],
    },
  ],
};
