import { CHANGELOG_MIGRATIONS } from '../changelog/migrations.js';
import { migrate } from '../storage/index.js';
import type { ReferenceSource } from './source.js';

/**
 * `changelog/changelog.db` (reference §5.2). Entries (keyed by hash) and queued changes
 * (keyed by id) are copied unchanged, `details`/`tags` JSON arrays and `status` strings
 * included. `hash_state` is deliberately not imported: its one row is the reference
 * hub's own root hash at its last start, and this hub has a different root hash;
 * importing it would make our next start report an undocumented change from a hash
 * this hub never had. Our `hash_changes`/`hash_snapshot` tables have no reference
 * counterpart and are left as they are.
 */
export const CHANGELOG_SOURCE: ReferenceSource = {
  activation: 'changelog',
  file: 'changelog.db',
  migrateTarget: (db) => migrate(db, 'changelog', CHANGELOG_MIGRATIONS),
  tables: [
    {
      table: 'changelog_entries',
      key: ['hash'],
      columns: ['hash', 'previous_hash', 'created_at', 'summary', 'details', 'author', 'queue_id'],
    },
    {
      table: 'queue_entries',
      key: ['id'],
      columns: ['id', 'description', 'tags', 'created_at', 'status', 'completed_hash', 'completed_at'],
    },
  ],
};
