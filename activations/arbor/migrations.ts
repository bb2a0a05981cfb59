import type { Migration } from '../storage/migrations.js';

/**
 * Arbor's schema. Version 1 is the reference's DDL unchanged (`arbor/storage.rs`), so
 * the tables read the same as substrate's `arbor.db`.
 */
export const ARBOR_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'reference schema: trees, tree_refs, nodes, node_refs, node_children',
    up: `
      CREATE TABLE IF NOT EXISTS trees (id TEXT PRIMARY KEY, root_node_id TEXT NOT NULL,
        ref_count INTEGER NOT NULL DEFAULT 1, state TEXT NOT NULL DEFAULT 'active',
        scheduled_deletion_at INTEGER, archived_at INTEGER, created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, metadata TEXT);
      CREATE TABLE IF NOT EXISTS tree_refs (tree_id TEXT NOT NULL, owner_id TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 1, claimed_at INTEGER NOT NULL, PRIMARY KEY (tree_id, owner_id),
        FOREIGN KEY (tree_id) REFERENCES trees(id) ON DELETE CASCADE);
      CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, tree_id TEXT NOT NULL, parent_id TEXT,
        ref_count INTEGER NOT NULL DEFAULT 1, state TEXT NOT NULL DEFAULT 'active',
        scheduled_deletion_at INTEGER, archived_at INTEGER, node_type TEXT NOT NULL, content TEXT,
        handle_plugin_id TEXT, handle_version TEXT, handle_method TEXT, handle_meta TEXT,
        created_at INTEGER NOT NULL, metadata TEXT,
        FOREIGN KEY (tree_id) REFERENCES trees(id) ON DELETE CASCADE);
      CREATE TABLE IF NOT EXISTS node_refs (node_id TEXT NOT NULL, owner_id TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 1, claimed_at INTEGER NOT NULL, PRIMARY KEY (node_id, owner_id),
        FOREIGN KEY (node_id) REFERENCES nodes(id) ON DELETE CASCADE);
      CREATE TABLE IF NOT EXISTS node_children (parent_id TEXT NOT NULL, child_id TEXT NOT NULL,
        position INTEGER NOT NULL, PRIMARY KEY (parent_id, child_id),
        FOREIGN KEY (parent_id) REFERENCES nodes(id) ON DELETE CASCADE,
        FOREIGN KEY (child_id) REFERENCES nodes(id) ON DELETE CASCADE);
      CREATE INDEX IF NOT EXISTS idx_trees_state ON trees(state);
      CREATE INDEX IF NOT EXISTS idx_trees_scheduled ON trees(scheduled_deletion_at) WHERE state = 'scheduled_delete';
      CREATE INDEX IF NOT EXISTS idx_trees_archived ON trees(archived_at) WHERE state = 'archived';
      CREATE INDEX IF NOT EXISTS idx_nodes_tree ON nodes(tree_id);
      CREATE INDEX IF NOT EXISTS idx_nodes_parent ON nodes(parent_id);
      CREATE INDEX IF NOT EXISTS idx_nodes_state ON nodes(state);
      CREATE INDEX IF NOT EXISTS idx_nodes_scheduled ON nodes(scheduled_deletion_at) WHERE state = 'scheduled_delete';
      CREATE INDEX IF NOT EXISTS idx_node_children_parent ON node_children(parent_id);
      CREATE INDEX IF NOT EXISTS idx_node_children_child ON node_children(child_id);
    `,
  },
  {
    version: 2,
    description: 'children ordered by position without a scan (appending a child reads MAX(position))',
    up: `CREATE INDEX IF NOT EXISTS idx_node_children_position ON node_children(parent_id, position);`,
  },
];
