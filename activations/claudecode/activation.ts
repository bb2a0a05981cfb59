import { realpathSync, statSync } from 'node:fs';
import { activation, ErrorCode, method, PlexusError, type CallContext } from '../../src/index.js';
import { ArborError, ArborStorage, type Arbor, type Handle } from '../arbor/index.js';
import { baseEnvironment, runProcess, type EnvPolicy } from '../process/index.js';
import { resolveDatabase, uuidParam, type DatabaseOption } from '../storage/index.js';
import { buildArgs, commandLine } from './args.js';
import { ClaudeCodeError } from './errors.js';
import { locateClaude } from './locate.js';
import { parseNodeEvent, renderMessages } from './render.js';
import { exportSessionEvents, importNodeEvents, SessionFiles } from './session-files.js';
import { ClaudeCodeStore, type Session } from './store.js';
import { TurnParser } from './stream-json.js';
import { AsyncTurns } from './async-turns.js';
import type {
  BufferedEvent,
  ChatEvent,
  ClaudeCodeConfig,
  ClaudeCodeInfo,
  ClaudeMessage,
  Model,
  NodeEvent,
  Position,
  StreamInfo,
  StreamStatus,
} from './types.js';

/** claudecode's plugin id in handles: UUIDv5(NAMESPACE_OID, "claudecode@1"), as the reference computes it. */
export const CLAUDECODE_PLUGIN_ID = '51b330e5-ed88-5fe2-8b58-0c57f2b02ab3';

export interface ClaudeCodeOptions {
  /** The arbor activation (or its storage) that keeps the conversation trees; its database holds claudecode's tables too. */
  readonly arbor?: Arbor | ArborStorage;
  /** Without `arbor`: where to keep everything (an open database, a file, `:memory:`); default `hub.db` in the data dir. */
  readonly database?: DatabaseOption;
  /** The `claude` binary (default: `$PLEXUS_HUB_CLAUDE`, then the reference's search list, then PATH). */
  readonly claudePath?: string;
  /** Where the CLI's environment starts (default `inherit`: it needs the user's credentials); `CLAUDECODE` is always removed. */
  readonly env?: EnvPolicy;
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

/** Terminal of `create`: the new session and the head it starts at. */
export interface CreateOk {
  /** The reference's earlier generation tagged this payload; kept for its clients. */
  type: 'created';
  id: string;
  head: Position;
}
/** Terminal of `get`. */
export interface GetOk {
  type: 'ok';
  config: ClaudeCodeConfig;
}
/** Terminal of `list`. */
export interface ListOk {
  type: 'ok';
  sessions: ClaudeCodeInfo[];
}
/** Terminal of `delete` (the arbor tree is kept). */
export interface DeleteOk {
  type: 'deleted';
  id: string;
}
/** Terminal of `fork`: the new session and the head it branches from. */
export interface ForkOk {
  type: 'forked';
  id: string;
  head: Position;
}
/** Terminal of `chat_async`. */
export interface ChatStartOk {
  type: 'started';
  stream_id: string;
  session_id: string;
}
/** Terminal of `poll`: a window of buffered events plus the buffer's bookkeeping. */
export interface PollOk {
  type: 'ok';
  status: StreamStatus;
  events: BufferedEvent[];
  read_position: number;
  total_events: number;
  has_more: boolean;
}
/** Terminal of `streams`. */
export interface StreamListOk {
  type: 'ok';
  streams: StreamInfo[];
}
/** Terminal of `sessions_list`: session file ids under a project path. */
export interface SessionsListOk {
  sessions: string[];
}
/** Terminal of `sessions_get`: the JSON events of a session file. */
export interface SessionsGetOk {
  session_id: string;
  event_count: number;
  events: unknown[];
}
/** Terminal of `sessions_import`: the arbor tree the file was imported into. */
export interface SessionsImportOk {
  tree_id: string;
  session_id: string;
}
/** Terminal of `sessions_export`. */
export interface SessionsExportOk {
  tree_id: string;
  session_id: string;
}
/** Terminal of `sessions_delete`. */
export interface SessionsDeleteOk {
  session_id: string;
  deleted: boolean;
}
/** Terminal of `get_tree`. */
export interface GetTreeOk {
  tree_id: string;
  head: string;
}
/** Terminal of `render_context`. */
export interface RenderOk {
  messages: ClaudeMessage[];
}

const MODELS: readonly Model[] = ['opus', 'sonnet', 'haiku'];
const MAX_STDERR_NODES = 100;

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
  readonly #claude: string;
  readonly #env: EnvPolicy;
  readonly #timeoutMs: number;
  readonly #graceMs: number;
  readonly #maxOutputBytes: number;
  readonly #busy = new Map<string, symbol>();
  readonly #close: () => void;
  readonly #async: AsyncTurns;
  readonly #files: SessionFiles;

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
    this.#claude = locateClaude(options.claudePath);
    this.#env = options.env ?? 'inherit';
    this.#timeoutMs = options.turnTimeoutMs ?? 30 * 60_000;
    this.#graceMs = options.killGraceMs ?? 2000;
    this.#maxOutputBytes = options.maxOutputBytes ?? 64 * 1024 * 1024;
    this.#files = new SessionFiles(options.sessionsRoot);
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
      dir = realpathSync(working_dir);
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
    const release = this.#acquire(session, ctx?.signal);
    if (!release) {
      yield { type: 'error', message: busyMessage(session) };
      return;
    }
    try {
      yield* this.#turn(session, prompt, ephemeral === true, allowed_tools ?? [], ctx?.signal);
    } finally {
      release();
    }
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
    const release = this.#acquire(session);
    if (!release) throw new PlexusError(ErrorCode.ExecutionError, busyMessage(session));
    const streamId = this.#async.start(session.id, (signal) =>
      this.#releasing(this.#turn(session, prompt, ephemeral === true, [], signal), release),
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

  /**
   * Marks a session busy for one turn; undefined when a turn already runs. A
   * cancelled turn frees the session at once (its process is being killed and it
   * writes nothing more to the head), so the caller can start the next turn.
   */
  #acquire(session: Session, signal?: AbortSignal): (() => void) | undefined {
    if (this.#busy.has(session.id)) return undefined;
    const token = Symbol(session.id);
    const release = () => {
      signal?.removeEventListener('abort', release);
      if (this.#busy.get(session.id) === token) this.#busy.delete(session.id);
    };
    this.#busy.set(session.id, token);
    signal?.addEventListener('abort', release, { once: true });
    return release;
  }

  async *#releasing<T>(events: AsyncGenerator<T>, release: () => void): AsyncGenerator<T> {
    try {
      yield* events;
    } finally {
      release();
    }
  }

  async *#turn(
    s: Session,
    prompt: string,
    ephemeral: boolean,
    allowedTools: readonly string[],
    signal?: AbortSignal,
  ): AsyncGenerator<ChatEvent> {
    const treeId = s.head.tree_id;
    const args = buildArgs({
      model: s.model,
      prompt,
      resume: s.claude_session_id,
      // An ephemeral turn must not extend the CLI session either.
      forkSession: s.fork_pending || ephemeral,
      systemPrompt: s.system_prompt,
      allowedTools,
    });
    let last = s.head.node_id;
    const node = (e: NodeEvent): string => (last = this.#arbor.nodeCreateText(treeId, last, JSON.stringify(e), undefined, { ephemeral }));
    const userNode = this.#arbor.transaction(() => {
      const messageId = this.#store.addMessage({ session_id: s.id, role: 'user', content: prompt, ephemeral });
      last = this.#arbor.nodeCreateExternal(treeId, last, messageHandle(messageId, 'user', 'user'), undefined, { ephemeral });
      const user = last;
      node({ type: 'user_message', content: prompt });
      node({ type: 'launch_command', command: commandLine(this.#claude, args) });
      node({ type: 'assistant_start' });
      return user;
    });
    yield { type: 'start', id: s.id, user_position: { tree_id: treeId, node_id: userNode } };

    const env = baseEnvironment(this.#env);
    delete env.CLAUDECODE; // lets the CLI run inside a Claude Code session, as the reference allows
    const parser = new TurnParser();
    const stderr: string[] = [];
    let exit: { code: number | null; signal: string | null } | undefined;
    let failure: string | undefined;
    for await (const ev of runProcess({
      file: this.#claude,
      args,
      cwd: s.working_dir,
      env,
      timeoutMs: this.#timeoutMs,
      graceMs: this.#graceMs,
      maxOutputBytes: this.#maxOutputBytes,
      signal,
    })) {
      if (ev.kind === 'line' && ev.stream === 'stdout') {
        for (const out of parser.push(ev.line)) {
          if (out.kind === 'event') {
            node(out.node);
            yield out.event;
          } else if (out.kind === 'unknown') {
            let handle = 'storage-failed';
            try {
              handle = this.#store.addUnknownEvent(s.id, out.eventType, out.data);
            } catch {
              // The event is still forwarded; only its stored copy is missing.
            }
            yield { type: 'passthrough', event_type: out.eventType, handle, data: out.data };
          } else {
            yield { type: 'error', message: out.message };
          }
        }
      } else if (ev.kind === 'line') {
        if (stderr.length < MAX_STDERR_NODES) node({ type: 'claude_stderr', text: ev.line });
        stderr.push(ev.line);
        if (stderr.length > MAX_STDERR_NODES) stderr.shift();
      } else if (ev.kind === 'timeout') {
        failure = `claude turn timed out after ${ev.timeoutMs} ms; its process group was terminated`;
      } else if (ev.kind === 'truncated') {
        failure = `claude wrote more than ${ev.limitBytes} bytes; the turn was cut off`;
      } else if (ev.kind === 'spawn_error') {
        failure = `failed to spawn claude (${this.#claude}): ${ev.message}`;
      } else {
        exit = { code: ev.code, signal: ev.signal };
      }
    }
    if (signal?.aborted) return; // the caller is gone; the head stays where it was

    const result = parser.result;
    if (failure !== undefined || !result) {
      const how = exit ? (exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`) : 'did not run';
      const tail = stderr.length > 0 ? `; stderr: ${stderr.slice(-5).join(' | ')}` : '';
      yield { type: 'error', message: failure ?? `claude ${how} before its result event (crashed mid-stream?)${tail}` };
      return;
    }
    if (result.isError) {
      yield { type: 'error', message: result.message ?? 'claude reported an error' };
      return;
    }
    if (parser.text === '' && parser.sessionId === null) {
      yield { type: 'error', message: 'Claude process produced no response. Check substrate logs for details.' };
      return;
    }
    const newHead = this.#arbor.transaction(() => {
      node({ type: 'assistant_complete', usage: result.usage });
      const messageId = this.#store.addMessage({
        session_id: s.id,
        role: 'assistant',
        content: parser.text,
        model_id: `claude-code-${s.model}`,
        usage: result.usage,
        ephemeral,
      });
      const head = this.#arbor.nodeCreateExternal(treeId, last, messageHandle(messageId, 'assistant', 'assistant'), undefined, {
        ephemeral,
      });
      if (!ephemeral) this.#store.advance(s.id, head, parser.sessionId);
      return head;
    });
    yield {
      type: 'complete',
      new_head: { tree_id: treeId, node_id: ephemeral ? s.head.node_id : newHead },
      claude_session_id: parser.sessionId ?? '',
      usage: result.usage,
    };
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

function messageHandle(messageId: string, role: string, name: string): Handle {
  return { plugin_id: CLAUDECODE_PLUGIN_ID, version: '1.0.0', method: 'chat', meta: [`msg-${messageId}`, role, name] };
}

function configOf(s: Session): ClaudeCodeConfig {
  const { fork_pending: _, ...config } = s;
  return config;
}
