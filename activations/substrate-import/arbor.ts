import { ARBOR_MIGRATIONS } from '../arbor/migrations.js';
import { migrate } from '../storage/index.js';
import type { ReferenceSource } from './source.js';

/**
 * `arbor/arbor.db` (reference §1.3). Our version-1 schema is the reference's DDL, so every
 * column is copied unchanged: ids, Unix-second timestamps, `state` strings, `metadata` and
 * `handle_meta` JSON text. Our version 2 only adds an index. Rows are copied in rowid
 * order, so trees and nodes keep their creation order.
 */
export const ARBOR_SOURCE: ReferenceSource = {
  activation: 'arbor',
  file: 'arbor.db',
  migrateTarget: (db) => migrate(db, 'arbor', ARBOR_MIGRATIONS),
  tables: [
    {
      table: 'trees',
      key: ['id'],
      columns: ['id', 'root_node_id', 'ref_count', 'state', 'scheduled_deletion_at', 'archived_at', 'created_at', 'updated_at', 'metadata'],
    },
    { table: 'tree_refs', key: ['tree_id', 'owner_id'], columns: ['tree_id', 'owner_id', 'count', 'claimed_at'] },
    {
      table: 'nodes',
      key: ['id'],
      columns: [
        'id',
        'tree_id',
        'parent_id',
        'ref_count',
        'state',
        'scheduled_deletion_at',
        'archived_at',
        'node_type',
        'content',
        'handle_plugin_id',
        'handle_version',
        'handle_method',
        'handle_meta',
        'created_at',
        'metadata',
      ],
    },
    { table: 'node_refs', key: ['node_id', 'owner_id'], columns: ['node_id', 'owner_id', 'count', 'claimed_at'] },
    { table: 'node_children', key: ['parent_id', 'child_id'], columns: ['parent_id', 'child_id', 'position'] },
  ],
};
