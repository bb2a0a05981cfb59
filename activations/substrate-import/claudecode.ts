import { CLAUDECODE_MIGRATIONS } from '../claudecode/migrations.js';
import { migrate } from '../storage/index.js';
import type { ReferenceSource } from './source.js';

/**
 * `claudecode/claudecode.db` (reference §4.4). Copied unchanged, with two conversions:
 * - `loopback_session_id` was added in the reference's 0.5 generation (by ALTER TABLE);
 *   files of the older generation lack it, and it becomes NULL (no loopback correlation id).
 * - our `fork_pending` column (not in the reference) keeps its default 0: the reference
 *   never resumes a fork with `--fork-session`, so an imported session's next turn runs as
 *   it would there.
 * Session names are UNIQUE and address sessions: another session with the same name in
 * hub.db is a conflict.
 */
export const CLAUDECODE_SOURCE: ReferenceSource = {
  activation: 'claudecode',
  file: 'claudecode.db',
  migrateTarget: (db) => migrate(db, 'claudecode', CLAUDECODE_MIGRATIONS),
  tables: [
    {
      table: 'claudecode_sessions',
      key: ['id'],
      unique: [['name']],
      absentInOlderFiles: { loopback_session_id: null },
      columns: [
        'id',
        'name',
        'claude_session_id',
        'loopback_session_id',
        'tree_id',
        'canonical_head',
        'working_dir',
        'model',
        'system_prompt',
        'mcp_config',
        'loopback_enabled',
        'metadata',
        'created_at',
        'updated_at',
      ],
    },
    {
      table: 'claudecode_messages',
      key: ['id'],
      columns: ['id', 'session_id', 'role', 'content', 'model_id', 'input_tokens', 'output_tokens', 'cost_usd', 'created_at'],
    },
    { table: 'claudecode_unknown_events', key: ['id'], columns: ['id', 'session_id', 'event_type', 'data', 'created_at'] },
  ],
};
