import type { Migration } from '../storage/migrations.js';

export const MUSTACHE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'reference schema: templates keyed by (plugin_id, method, name)',
    up: `
      CREATE TABLE IF NOT EXISTS templates (id TEXT PRIMARY KEY, plugin_id TEXT NOT NULL, method TEXT NOT NULL, name TEXT NOT NULL,
        template TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE(plugin_id, method, name));
      CREATE INDEX IF NOT EXISTS idx_templates_plugin ON templates(plugin_id);
      CREATE INDEX IF NOT EXISTS idx_templates_lookup ON templates(plugin_id, method, name);
    `,
  },
];
