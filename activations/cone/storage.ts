import type { Statement } from 'better-sqlite3';
import { migrate, type SqliteDatabase } from '../storage/index.js';
import { ConeError } from './errors.js';
import { CONE_MIGRATIONS } from './migrations.js';
import type { ConeConfig, ConeIdentifier, ConeInfo, Position } from './types.js';

interface ConeRow {
  id: string;
  name: string;
  model_id: string;
  system_prompt: string | null;
  tree_id: string;
  canonical_head: string;
  metadata: string | null;
  created_at: number;
  updated_at: number;
}

export type MessageRole = 'user' | 'assistant' | 'system';

export interface StoredMessage {
  id: string;
  cone_id: string;
  role: MessageRole;
  content: string;
  model_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  /** Negative for ephemeral messages (the reference's marker). */
  created_at: number;
}

export interface NewCone {
  id: string;
  name: string;
  modelId: string;
  systemPrompt: string | null;
  head: Position;
  metadata: unknown;
  now: number;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const toConfig = (r: ConeRow): ConeConfig => ({
  id: r.id,
  name: r.name,
  model_id: r.model_id,
  system_prompt: r.system_prompt,
  head: { tree_id: r.tree_id, node_id: r.canonical_head },
  metadata: parseJson(r.metadata),
  created_at: r.created_at,
  updated_at: r.updated_at,
});

/** `%`, `_` and `\` in a name are literal in the prefix match (the reference lets them act as wildcards). */
const likePrefix = (name: string) => `${name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * cone's own tables (cones, messages), in the same SQLite database as arbor so a
 * chat turn's message rows and tree nodes commit in one transaction.
 */
export class ConeStorage {
  readonly #db: SqliteDatabase;
  readonly #sql: ReturnType<typeof statements>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    migrate(db, 'cone', CONE_MIGRATIONS);
    this.#sql = statements(db);
  }

  /** Inserts a cone; a taken name becomes `<name>#<id>` (the reference's rule). Returns the stored name. */
  insert(c: NewCone): string {
    const taken = this.#sql.byExactName.get(c.name) !== undefined;
    const name = taken ? `${c.name}#${c.id}` : c.name;
    this.#sql.insert.run(
      c.id,
      name,
      c.modelId,
      c.systemPrompt,
      c.head.tree_id,
      c.head.node_id,
      c.metadata === undefined || c.metadata === null ? null : JSON.stringify(c.metadata),
      c.now,
      c.now,
    );
    return name;
  }

  get(id: string): ConeConfig {
    const row = this.#sql.byId.get(id) as ConeRow | undefined;
    if (!row) throw ConeError.notFound(id);
    return toConfig(row);
  }

  /**
   * The id an identifier names. By name: the exact name, else the one name that
   * starts with it (none: not found; several: ambiguous). By id: as given,
   * lowercased, not looked up (the reference's behaviour: `get` then fails).
   */
  resolve(identifier: ConeIdentifier): string {
    if (identifier.type === 'by_id') return identifier.id.toLowerCase();
    const exact = this.#sql.byExactName.get(identifier.name) as { id: string } | undefined;
    if (exact) return exact.id;
    const matches = this.#sql.byNamePrefix.all(likePrefix(identifier.name)) as { id: string; name: string }[];
    if (matches.length === 0) throw ConeError.notFound(identifier.name);
    if (matches.length > 1) {
      throw ConeError.invalidState(
        `Ambiguous name '${identifier.name}' matches multiple cones: ${matches.map((m) => m.name).join(', ')}. Use full name with #uuid to disambiguate.`,
      );
    }
    return matches[0]!.id;
  }

  /** Newest first. */
  list(): ConeInfo[] {
    return (this.#sql.all.all() as ConeRow[]).map((r) => ({
      id: r.id,
      name: r.name,
      model_id: r.model_id,
      head: { tree_id: r.tree_id, node_id: r.canonical_head },
      created_at: r.created_at,
    }));
  }

  /** Deletes the cone and its messages (not its tree). */
  delete(id: string): void {
    if (this.#sql.delete.run(id).changes === 0) throw ConeError.notFound(id);
  }

  setHead(id: string, nodeId: string, now: number): void {
    if (this.#sql.setHead.run(nodeId, now, id).changes === 0) throw ConeError.notFound(id);
  }

  insertMessage(m: StoredMessage): void {
    this.#sql.insertMessage.run(m.id, m.cone_id, m.role, m.content, m.model_id, m.input_tokens, m.output_tokens, m.created_at);
  }

  message(id: string): StoredMessage | undefined {
    return this.#sql.message.get(id) as StoredMessage | undefined;
  }

  messages(coneId: string): StoredMessage[] {
    return this.#sql.messagesOf.all(coneId) as StoredMessage[];
  }

  get db(): SqliteDatabase {
    return this.#db;
  }
}

function statements(db: SqliteDatabase) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    insert: s(`INSERT INTO cones (id, name, model_id, system_prompt, tree_id, canonical_head, metadata, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    byId: s('SELECT * FROM cones WHERE id = ?'),
    byExactName: s('SELECT id FROM cones WHERE name = ?'),
    byNamePrefix: s(`SELECT id, name FROM cones WHERE name LIKE ? ESCAPE '\\' ORDER BY name`),
    all: s('SELECT * FROM cones ORDER BY created_at DESC, rowid DESC'),
    delete: s('DELETE FROM cones WHERE id = ?'),
    setHead: s('UPDATE cones SET canonical_head = ?, updated_at = ? WHERE id = ?'),
    insertMessage: s(`INSERT INTO messages (id, cone_id, role, content, model_id, input_tokens, output_tokens, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    message: s('SELECT * FROM messages WHERE id = ?'),
    messagesOf: s('SELECT * FROM messages WHERE cone_id = ? ORDER BY abs(created_at), rowid'),
  };
}
