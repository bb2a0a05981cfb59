import type { Migration } from '../storage/index.js';

/**
 * claudecode's tables. Version 1 is the reference's DDL (`claudecode/storage.rs`,
 * SUB5+ with `loopback_session_id`); version 2 adds what forking needs.
 */
export const CLAUDECODE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'reference schema: claudecode_sessions, claudecode_messages, claudecode_unknown_events',
    up: `
      CREATE TABLE IF NOT EXISTS claudecode_sessions (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
        claude_session_id TEXT, loopback_session_id TEXT,
        tree_id TEXT NOT NULL, canonical_head TEXT NOT NULL, working_dir TEXT NOT NULL, model TEXT NOT NULL,
        system_prompt TEXT, mcp_config TEXT, loopback_enabled INTEGER NOT NULL DEFAULT 0, metadata TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS claudecode_messages (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL,
        content TEXT NOT NULL, model_id TEXT, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL,
        created_at INTEGER NOT NULL, FOREIGN KEY (session_id) REFERENCES claudecode_sessions(id) ON DELETE CASCADE);
      CREATE TABLE IF NOT EXISTS claudecode_unknown_events (id TEXT PRIMARY KEY, session_id TEXT, event_type TEXT NOT NULL,
        data TEXT NOT NULL, created_at INTEGER NOT NULL, FOREIGN KEY (session_id) REFERENCES claudecode_sessions(id) ON DELETE CASCADE);
      CREATE INDEX IF NOT EXISTS idx_claudecode_sessions_name ON claudecode_sessions(name);
      CREATE INDEX IF NOT EXISTS idx_claudecode_sessions_tree ON claudecode_sessions(tree_id);
      CREATE INDEX IF NOT EXISTS idx_claudecode_messages_session ON claudecode_messages(session_id);
      CREATE INDEX IF NOT EXISTS idx_claudecode_unknown_events_session ON claudecode_unknown_events(session_id);
      CREATE INDEX IF NOT EXISTS idx_claudecode_unknown_events_type ON claudecode_unknown_events(event_type);
    `,
  },
  {
    version: 2,
    description: 'fork_pending: the next turn resumes the parent CLI session with --fork-session',
    up: `ALTER TABLE claudecode_sessions ADD COLUMN fork_pending INTEGER NOT NULL DEFAULT 0;`,
  },
];
