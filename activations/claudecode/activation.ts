import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { activation, ErrorCode, method, PlexusError, type CallContext } from '../../src/index.js';
import { ArborError, ArborStorage, type Arbor, type Handle } from '../arbor/index.js';
import { baseEnvironment, type EnvPolicy } from '../process/index.js';
import { resolveDatabase, uuidParam, type DatabaseOption } from '../storage/index.js';
import { AsyncTurns } from './async-turns.js';
import { ClaudeCodeError } from './errors.js';
import { CLAUDECODE_PLUGIN_ID } from './handles.js';
import { locateClaude } from './locate.js';
import { parseNodeEvent, renderMessages } from './render.js';
import type {
  ChatStartOk,
  CreateOk,
  DeleteOk,
  ForkOk,
  GetOk,
  GetTreeOk,
  ListOk,
  PollOk,
  RenderOk,
  SessionsDeleteOk,
  SessionsExportOk,
  SessionsGetOk,
  SessionsImportOk,
  SessionsListOk,
  StreamListOk,
} from './results.js';
import { releasing, SessionLocks } from './session-locks.js';
import { exportSessionEvents, importNodeEvents, SessionFiles } from './session-files.js';
import { ClaudeCodeStore, type Session } from './store.js';
import { Turns } from './turn.js';
import type { ChatEvent, ClaudeCodeConfig, Model, NodeEvent, StreamStatus } from './types.js';

export interface ClaudeCodeOptions {
  /** The arbor activation (or its storage) that keeps the conversation trees; its database holds claudecode's tables too. */
  readonly arbor?: Arbor | ArborStorage;
  /** Without `arbor`: where to keep everything (an open database, a file, `:memory:`); default `hub.db` in the data dir. */
  readonly database?: DatabaseOption;
  /** The `claude` binary (default: `$PLEXUS_HUB_CLAUDE`, then the reference's search list, then PATH). */
  readonly claudePath?: string;
  /** The directory a relative `working_dir` of `create` resolves against (default: the process's cwd). */
  readonly cwd?: string;
  /**
   * Where the CLI's environment starts: default `minimal`, as for `bash` (PATH, HOME,
   * USER, locale, TMPDIR, …; `claude` finds the user's login under HOME), so the hub's
   * credentials (`ANTHROPIC_API_KEY`, which would also change how `claude` bills,
   * `OPENAI_API_KEY`, `PLEXUS_HUB_TOKEN`) never reach it. `CLAUDECODE` is always removed.
   */
  readonly env?: EnvPolicy;
  /**
   * Names of the hub's environment variables passed to `claude` on top of `env`: the
   * explicit allow-list (e.g. `['ANTHROPIC_API_KEY']` to bill by API key). Default:
   * `$PLEXUS_HUB_CLAUDE_ENV`, comma-separated, else none.
   */
  readonly passEnv?: readonly string[];
  /** Wall-clock limit of one turn (default 30 min). */
  readonly turnTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when a turn is stopped (default 2 s). */
  readonly killGraceMs?: number;
  /** Bytes of CLI output per turn (default 64 MiB). */
  readonly maxOutputBytes?: number;
  /** Where the CLI keeps session files, for `sessions_*` (default `~/.claude/projects`). */
  readonly sessionsRoot?: string;
  /** How long a finished `chat_async` buffer stays pollable (default 1 hour). */
  readonly keepFinishedStreamsMs?: number;
}

const MODELS: readonly Model[] = ['opus', 'sonnet', 'haiku'];

/**
 * Manage Claude Code sessions with Arbor-backed conversation history.
 *
 * Each `chat` runs the `claude` CLI once (`--print`, stream-json), in its own process
 * group, and stores the turn in the session's arbor tree. Needs the `execute` verb.
 */
@activation('claudecode', { version: '1.0.0', description: 'Manage Claude Code sessions with Arbor-backed conversation history' })
export class ClaudeCode {
  readonly #arbor: ArborStorage;
  readonly #store: ClaudeCodeStore;
  readonly #turns: Turns;
  readonly #locks = new SessionLocks();
  readonly #close: () => void;
  readonly #async: AsyncTurns;
  readonly #files: SessionFiles;
  readonly #cwd: string;

  constructor(options: ClaudeCodeOptions = {}) {
    if (options.arbor) {
      this.#arbor = 'storage' in options.arbor ? options.arbor.storage : options.arbor;
      this.#close = () => {};
    } else {
      const { db, owned } = resolveDatabase(options.database);
      this.#arbor = new ArborStorage(db);
      this.#close = () => owned && db.open && db.close();
    }
    this.#store = new ClaudeCodeStore(this.#arbor.db);
    this.#turns = new Turns(this.#arbor, this.#store, {
      claude: locateClaude(options.claudePath),
      env: withAllowed(options.env ?? 'minimal', options.passEnv ?? allowListFromEnv()),
      timeoutMs: options.turnTimeoutMs ?? 30 * 60_000,
      graceMs: options.killGraceMs ?? 2000,
      maxOutputBytes: options.maxOutputBytes ?? 64 * 1024 * 1024,
    });
    this.#files = new SessionFiles(options.sessionsRoot);
    this.#cwd = resolve(options.cwd ?? process.cwd());
    this.#async = new AsyncTurns(options.keepFinishedStreamsMs ?? 3_600_000);
    if (options.arbor && 'registerHandleResolver' in options.arbor) {
      options.arbor.registerHandleResolver(CLAUDECODE_PLUGIN_ID, (h) => this.#resolveHandle(h));
    }
  }

  /** The status of a `chat_async` stream (for in-process callers and tests). */
  streamStatus(streamId: string): StreamStatus | undefined {
    return this.#async.get(streamId)?.info.status;
  }

  /** Cancels background turns and closes the database if this activation opened it. */
  close(): void {
    this.#async.close();
    this.#close();
  }

  /**
   * Create a new Claude Code session
   * @param name - Human-readable name for the session
   * @param working_dir - Working directory for Claude Code
   * @param model - Model to use (opus, sonnet, haiku)
   * @param system_prompt - System prompt passed to every turn
   * @param loopback_enabled - Enable loopback mode - routes tool permissions through parent for approval
   * @param loopback_session_id - Session ID for loopback MCP URL correlation (e.g., orcha-xxx-claude-yyy)
   */
  @method({ verbs: ['execute'] })
  create(
    name: string,
    working_dir: string,
    model: Model,
    system_prompt?: string,
    loopback_enabled?: boolean,
    loopback_session_id?: string,
  ): CreateOk {
    if (!MODELS.includes(model)) throw PlexusError.invalidParams(`param 'model' must be one of ${MODELS.join(', ')}`);
    if (system_prompt?.includes('\0')) throw PlexusError.invalidParams('system_prompt contains a NUL byte');
    if (loopback_enabled) {
      throw PlexusError.invalidParams(
        'loopback_enabled: loopback mode needs the loopback activation and its permission tool, which this hub does not provide',
      );
    }
    let dir: string;
    try {
      dir = realpathSync(resolve(this.#cwd, working_dir));
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw ClaudeCodeError.pathResolution(working_dir, (err as Error).message);
    }
    return this.#arbor.transaction(() => {
      const treeId = this.#arbor.treeCreate({ name }, CLAUDECODE_PLUGIN_ID);
      const root = this.#arbor.treeGet(treeId).root;
      const s = this.#store.create({
        name,
        working_dir: dir,
        model,
        system_prompt: system_prompt ?? null,
        head: { tree_id: treeId, node_id: root },
        loopback_session_id: loopback_session_id ?? null,
      });
      return { type: 'created', id: s.id, head: s.head };
    });
  }

  /**
   * Get session configuration details
   * @param name - Session name (or id, or a unique name prefix)
   */
  @method()
  get(name: string): GetOk {
    return { type: 'ok', config: configOf(this.#store.resolve(name)) };
  }

  /** List all Claude Code sessions */
  @method()
  list(): ListOk {
    return { type: 'ok', sessions: this.#store.list() };
  }

  /**
   * Delete a session
   * @param name - Session name (or id)
   */
  @method({ verbs: ['write'] })
  delete(name: string): DeleteOk {
    const s = this.#store.resolve(name);
    this.#store.delete(s.id);
    return { type: 'deleted', id: s.id };
  }

  /**
   * Fork a session to create a branch point
   * @param name - Session to fork
   * @param new_name - Name of the new session
   */
  @method({ verbs: ['write'] })
  fork(name: string, new_name: string): ForkOk {
    const parent = this.#store.resolve(name);
    return this.#arbor.transaction(() => {
      const child = this.#store.create({
        name: new_name,
        working_dir: parent.working_dir,
        model: parent.model,
        system_prompt: parent.system_prompt,
        mcp_config: parent.mcp_config,
        loopback_enabled: parent.loopback_enabled,
        // A branch of the same tree, at the parent's head: the fork's history is the parent's so far.
        head: parent.head,
        // Its first turn resumes the parent's CLI session with --fork-session, so Claude has the context too.
        claude_session_id: parent.claude_session_id,
        fork_pending: parent.claude_session_id !== null,
      });
      this.#arbor.treeClaim(parent.head.tree_id, child.id, 1);
      return { type: 'forked', id: child.id, head: child.head };
    });
  }

  /**
   * Get arbor tree information for a session
   * @param name - Session name (or id)
   */
  @method()
  getTree(name: string): GetTreeOk {
    const s = this.#store.resolve(name);
    return { tree_id: s.head.tree_id, head: s.head.node_id };
  }

  /**
   * Render arbor tree as Claude API messages
   * @param name - Session name (or id)
   * @param start - Start node (default: root)
   * @param end - End node (default: head)
   */
  @method()
  renderContext(name: string, start?: string, end?: string): RenderOk {
    const s = this.#store.resolve(name);
    const endId = end === undefined ? s.head.node_id : uuidParam('end', end);
    let nodes: ReturnType<ArborStorage['contextGetPath']>;
    try {
      nodes = this.#arbor.contextGetPath(s.head.tree_id, endId);
    } catch (err) {
      throw err instanceof ArborError ? ClaudeCodeError.arbor(err.message) : err;
    }
    if (start !== undefined) {
      const from = nodes.findIndex((n) => n.id === uuidParam('start', start));
      if (from < 0) throw ClaudeCodeError.arbor('start node not found in path from root to end');
      nodes = nodes.slice(from);
    }
    const events: NodeEvent[] = [];
    for (const n of nodes) {
      if (n.data.type !== 'text' || n.data.content === '') continue;
      const e = parseNodeEvent(n.data.content);
      if (!e) throw ClaudeCodeError.serialization(`node ${n.id} is not a claudecode turn event`);
      events.push(e);
    }
    return { messages: renderMessages(events) };
  }

  /**
   * Chat with a session, streaming tokens like Cone
   * @param name - Session name to chat with
   * @param prompt - The user's message
   * @param ephemeral - Store the turn as scheduled for deletion and leave the session's head where it is
   * @param allowed_tools - Optional list of tools to allow (e.g. ["WebSearch", "Read"])
   */
  @method({ verbs: ['execute'], streaming: true })
  async *chat(name: string, prompt: string, ephemeral?: boolean, allowed_tools?: string[], ctx?: CallContext): AsyncGenerator<ChatEvent> {
    checkPrompt(prompt, allowed_tools);
    const session = this.#store.resolve(name);
    const release = this.#locks.acquire(session.id, ctx?.signal);
    if (!release) {
      yield { type: 'error', message: busyMessage(session) };
      throw new PlexusError(ErrorCode.ExecutionError, busyMessage(session));
    }
    yield* releasing(
      this.#turns.run({ session, prompt, ephemeral: ephemeral === true, allowedTools: allowed_tools ?? [], signal: ctx?.signal }),
      release,
    );
  }

  /**
   * Start an async chat - returns immediately with `stream_id` for polling
   * @param name - Session name to chat with
   * @param prompt - The user's message
   * @param ephemeral - As for `chat`
   */
  @method({ verbs: ['execute'] })
  chatAsync(name: string, prompt: string, ephemeral?: boolean): ChatStartOk {
    checkPrompt(prompt);
    const session = this.#store.resolve(name);
    const release = this.#locks.acquire(session.id);
    if (!release) throw new PlexusError(ErrorCode.ExecutionError, busyMessage(session));
    const streamId = this.#async.start(session.id, (signal) =>
      releasing(this.#turns.run({ session, prompt, ephemeral: ephemeral === true, allowedTools: [], signal }), release),
    );
    return { type: 'started', stream_id: streamId, session_id: session.id };
  }

  /**
   * Poll a stream for new events
   * @param stream_id - Stream ID returned from chat_async
   * @param from_seq - First event to return (default: the stream's read position)
   * @param limit - Most events to return (default 100)
   */
  @method()
  poll(stream_id: string, from_seq?: number, limit?: number): PollOk {
    const b = this.#async.get(uuidParam('stream_id', stream_id));
    if (!b) throw ClaudeCodeError.sessionNotFound(`stream:${stream_id}`);
    const start = from_seq ?? b.info.read_position;
    const events = b.events.slice(start, start + (limit ?? 100));
    if (events.length > 0) b.info.read_position = events.at(-1)!.seq + 1;
    return {
      type: 'ok',
      status: b.info.status,
      events,
      read_position: b.info.read_position,
      total_events: b.events.length,
      has_more: b.info.read_position < b.events.length,
    };
  }

  /**
   * List active streams
   * @param session_id - Only this session's streams
   */
  @method()
  streams(session_id?: string): StreamListOk {
    return { type: 'ok', streams: this.#async.list(session_id === undefined ? undefined : uuidParam('session_id', session_id)) };
  }

  /**
   * List all session files for a project
   * @param project_path - Project path (e.g., '-workspace-hypermemetic-hub-codegen')
   */
  @method()
  sessionsList(project_path: string): SessionsListOk {
    return { sessions: this.#files.list(project_path) };
  }

  /**
   * Get events from a session file
   * @param project_path - Project directory name under the sessions root
   * @param session_id - Session file name without `.jsonl`
   */
  @method()
  sessionsGet(project_path: string, session_id: string): SessionsGetOk {
    const events = this.#files.read(project_path, session_id);
    return { session_id, event_count: events.length, events };
  }

  /**
   * Import a session file into arbor
   * @param project_path - Project directory name under the sessions root
   * @param session_id - Session file name without `.jsonl`
   * @param owner_id - Owner of the new tree (default "claudecode")
   */
  @method({ verbs: ['write'] })
  sessionsImport(project_path: string, session_id: string, owner_id?: string): SessionsImportOk {
    const nodes = importNodeEvents(this.#files.read(project_path, session_id));
    const tree_id = this.#arbor.transaction(() => {
      const id = this.#arbor.treeCreate({ source: 'claude_session_import', session_id, project_path }, owner_id ?? 'claudecode');
      let parent = this.#arbor.treeGet(id).root;
      for (const n of nodes) parent = this.#arbor.nodeCreateText(id, parent, JSON.stringify(n));
      return id;
    });
    return { tree_id, session_id };
  }

  /**
   * Export an arbor tree to a session file
   * @param tree_id - The tree to export (depth first, as the reference does)
   * @param project_path - Project directory name under the sessions root (created if missing)
   * @param session_id - Session file name without `.jsonl` (appended to if it exists)
   */
  @method({ verbs: ['write'] })
  sessionsExport(tree_id: string, project_path: string, session_id: string): SessionsExportOk {
    const tree = this.#arbor.treeGet(uuidParam('tree_id', tree_id));
    const nodes: NodeEvent[] = [];
    const stack = [tree.root];
    while (stack.length > 0) {
      const node = tree.nodes[stack.pop()!]!;
      if (node.data.type === 'text' && node.data.content !== '') {
        const e = parseNodeEvent(node.data.content);
        if (e) nodes.push(e);
      }
      stack.push(...[...node.children].reverse());
    }
    this.#files.append(project_path, session_id, exportSessionEvents(nodes, session_id, process.cwd()));
    return { tree_id: tree.id, session_id };
  }

  /**
   * Delete a session file
   * @param project_path - Project directory name under the sessions root
   * @param session_id - Session file name without `.jsonl`
   */
  @method({ verbs: ['write'] })
  sessionsDelete(project_path: string, session_id: string): SessionsDeleteOk {
    this.#files.delete(project_path, session_id);
    return { session_id, deleted: true };
  }

  /** For arbor's `tree_render`: a message handle shows its role, name and text. */
  #resolveHandle(h: Handle): unknown {
    if (h.method !== 'chat' || !h.meta?.[0]?.startsWith('msg-')) return undefined;
    const m = this.#store.message(h.meta[0].slice(4));
    if (!m) throw ClaudeCodeError.sessionNotFound(`message:${h.meta[0].slice(4)}`);
    return { type: 'resolved_message', id: m.id, role: m.role, content: m.content, model: m.model_id, name: h.meta[2] ?? m.role };
  }
}

/** An argv word cannot hold a NUL byte: refuse it before anything is stored. */
function checkPrompt(prompt: string, tools: readonly string[] = []): void {
  if (prompt.includes('\0')) throw PlexusError.invalidParams('prompt contains a NUL byte');
  for (const t of tools)
    if (t.includes('\0') || t.includes(','))
      throw PlexusError.invalidParams(`allowed_tools entry ${JSON.stringify(t)} may not contain a comma or NUL byte`);
}

function busyMessage(s: Session): string {
  return `session '${s.name}' already has a turn running`;
}

function configOf(s: Session): ClaudeCodeConfig {
  const { fork_pending: _, ...config } = s;
  return config;
}

/** `$PLEXUS_HUB_CLAUDE_ENV`: `NAME,NAME`, the variables `hub serve` passes to `claude`. */
function allowListFromEnv(): string[] {
  return (process.env.PLEXUS_HUB_CLAUDE_ENV ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
}

/** `policy` plus the allow-listed variables the hub has, resolved once: the allow-list is read when the hub starts. */
function withAllowed(policy: EnvPolicy, names: readonly string[]): EnvPolicy {
  if (names.length === 0) return policy;
  const env = baseEnvironment(policy);
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
