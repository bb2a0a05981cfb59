import type { Migration } from '../storage/index.js';

/** cone's schema. Version 1 is the reference's DDL unchanged (`cone/storage.rs`). */
export const CONE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'reference schema: cones, messages',
    up: `
      CREATE TABLE IF NOT EXISTS cones (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, model_id TEXT NOT NULL,
        system_prompt TEXT, tree_id TEXT NOT NULL, canonical_head TEXT NOT NULL, metadata TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, cone_id TEXT NOT NULL, role TEXT NOT NULL,
        content TEXT NOT NULL, model_id TEXT, input_tokens INTEGER, output_tokens INTEGER, created_at INTEGER NOT NULL,
        FOREIGN KEY (cone_id) REFERENCES cones(id) ON DELETE CASCADE);
      CREATE INDEX IF NOT EXISTS idx_cones_name ON cones(name);
      CREATE INDEX IF NOT EXISTS idx_cones_tree ON cones(tree_id);
      CREATE INDEX IF NOT EXISTS idx_messages_cone ON messages(cone_id);
    `,
  },
];
