import { migrate, newId, isUuid, type SqliteDatabase } from '../storage/index.js';
import { ClaudeCodeError } from './errors.js';
import { CLAUDECODE_MIGRATIONS } from './migrations.js';
import type { ChatUsage, ClaudeCodeConfig, ClaudeCodeInfo, Model, Position } from './types.js';

interface SessionRow {
  id: string;
  name: string;
  claude_session_id: string | null;
  loopback_session_id: string | null;
  tree_id: string;
  canonical_head: string;
  working_dir: string;
  model: string;
  system_prompt: string | null;
  mcp_config: string | null;
  loopback_enabled: number;
  metadata: string | null;
  created_at: number;
  updated_at: number;
  fork_pending: number;
}

/** A session as the activation works with it. */
export interface Session extends ClaudeCodeConfig {
  /** The next turn resumes `claude_session_id` with `--fork-session`. */
  readonly fork_pending: boolean;
}

export interface NewSession {
  readonly name: string;
  readonly working_dir: string;
  readonly model: Model;
  readonly system_prompt: string | null;
  readonly head: Position;
  readonly claude_session_id?: string | null;
  readonly fork_pending?: boolean;
  readonly loopback_enabled?: boolean;
  readonly loopback_session_id?: string | null;
  readonly mcp_config?: unknown;
  readonly metadata?: unknown;
}

export interface StoredMessage {
  readonly id: string;
  readonly session_id: string;
  readonly role: string;
  readonly content: string;
  readonly model_id: string | null;
}

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

/** claudecode's own tables (sessions, messages, unknown CLI events) in the shared database. */
export class ClaudeCodeStore {
  readonly #db: SqliteDatabase;
  readonly #now: () => number;

  constructor(db: SqliteDatabase, now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.#db = db;
    this.#now = now;
    migrate(db, 'claudecode', CLAUDECODE_MIGRATIONS);
  }

  /** Inserts a session; a taken name becomes `<name>#<id>` (as the reference does). */
  create(s: NewSession): Session {
    const id = newId();
    const now = this.#now();
    const taken = this.#db.prepare('SELECT 1 FROM claudecode_sessions WHERE name = ?').get(s.name) !== undefined;
    const name = taken ? `${s.name}#${id}` : s.name;
    this.#db
      .prepare(
        `INSERT INTO claudecode_sessions (id, name, claude_session_id, loopback_session_id, tree_id, canonical_head, working_dir, model,
          system_prompt, mcp_config, loopback_enabled, metadata, created_at, updated_at, fork_pending)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        name,
        s.claude_session_id ?? null,
        s.loopback_session_id ?? null,
        s.head.tree_id,
        s.head.node_id,
        s.working_dir,
        s.model,
        s.system_prompt,
        json(s.mcp_config),
        s.loopback_enabled ? 1 : 0,
        json(s.metadata),
        now,
        now,
        s.fork_pending ? 1 : 0,
      );
    return this.get(id);
  }

  get(id: string): Session {
    const row = this.#db.prepare('SELECT * FROM claudecode_sessions WHERE id = ?').get(id) as SessionRow | undefined;
    if (!row) throw ClaudeCodeError.sessionNotFound(id);
    return toSession(row);
  }

  /** By id, exact name, or unique name prefix (the reference's lookup). */
  resolve(nameOrId: string): Session {
    if (isUuid(nameOrId)) {
      const byId = this.#db.prepare('SELECT * FROM claudecode_sessions WHERE id = ?').get(nameOrId.toLowerCase()) as SessionRow | undefined;
      if (byId) return toSession(byId);
    }
    const exact = this.#db.prepare('SELECT * FROM claudecode_sessions WHERE name = ?').get(nameOrId) as SessionRow | undefined;
    if (exact) return toSession(exact);
    const like = nameOrId.replace(/[\\%_]/g, (c) => `\\${c}`);
    const rows = this.#db.prepare("SELECT * FROM claudecode_sessions WHERE name LIKE ? ESCAPE '\\'").all(`${like}%`) as SessionRow[];
    if (rows.length === 0) throw ClaudeCodeError.sessionNotFound(nameOrId);
    if (rows.length > 1)
      throw ClaudeCodeError.ambiguous(
        nameOrId,
        rows.map((r) => r.name),
      );
    return toSession(rows[0]!);
  }

  list(): ClaudeCodeInfo[] {
    const rows = this.#db.prepare('SELECT * FROM claudecode_sessions ORDER BY created_at DESC, rowid DESC').all() as SessionRow[];
    return rows.map((r) => {
      const s = toSession(r);
      return {
        id: s.id,
        name: s.name,
        model: s.model,
        head: s.head,
        claude_session_id: s.claude_session_id,
        working_dir: s.working_dir,
        loopback_enabled: s.loopback_enabled,
        created_at: s.created_at,
      };
    });
  }

  delete(id: string): void {
    this.#db.prepare('DELETE FROM claudecode_sessions WHERE id = ?').run(id);
  }

  /** After a turn: the new head, and the CLI session to resume next time (no fork pending any more). */
  advance(id: string, head: string, claudeSessionId: string | null): void {
    this.#db
      .prepare(
        'UPDATE claudecode_sessions SET canonical_head = ?, claude_session_id = COALESCE(?, claude_session_id), fork_pending = 0, updated_at = ? WHERE id = ?',
      )
      .run(head, claudeSessionId, this.#now(), id);
  }

  /** Stores a message; ephemeral ones get a negative `created_at` (the reference's marker). */
  addMessage(m: {
    session_id: string;
    role: 'user' | 'assistant';
    content: string;
    model_id?: string;
    usage?: ChatUsage | null;
    ephemeral?: boolean;
  }): string {
    const id = newId();
    const now = this.#now();
    this.#db
      .prepare(
        'INSERT INTO claudecode_messages (id, session_id, role, content, model_id, input_tokens, output_tokens, cost_usd, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        id,
        m.session_id,
        m.role,
        m.content,
        m.model_id ?? null,
        m.usage?.input_tokens ?? null,
        m.usage?.output_tokens ?? null,
        m.usage?.cost_usd ?? null,
        m.ephemeral ? -now : now,
      );
    return id;
  }

  message(id: string): StoredMessage | undefined {
    return this.#db.prepare('SELECT id, session_id, role, content, model_id FROM claudecode_messages WHERE id = ?').get(id) as
      | StoredMessage
      | undefined;
  }

  addUnknownEvent(sessionId: string, eventType: string, data: unknown): string {
    const id = newId();
    this.#db
      .prepare('INSERT INTO claudecode_unknown_events (id, session_id, event_type, data, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, sessionId, eventType, JSON.stringify(data), this.#now());
    return id;
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}

function toSession(r: SessionRow): Session {
  return {
    id: r.id,
    name: r.name,
    claude_session_id: r.claude_session_id,
    loopback_session_id: r.loopback_session_id,
    head: { tree_id: r.tree_id, node_id: r.canonical_head },
    working_dir: r.working_dir,
    model: r.model as Model,
    system_prompt: r.system_prompt,
    mcp_config: parse(r.mcp_config),
    loopback_enabled: r.loopback_enabled !== 0,
    metadata: parse(r.metadata),
    created_at: r.created_at,
    updated_at: r.updated_at,
    fork_pending: r.fork_pending !== 0,
  };
}
