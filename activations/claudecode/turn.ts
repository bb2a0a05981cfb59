import type { ArborStorage } from '../arbor/index.js';
import { baseEnvironment, runProcess, type EnvPolicy } from '../process/index.js';
import { buildArgs, commandLine } from './args.js';
import { ClaudeCodeError } from './errors.js';
import { messageHandle } from './handles.js';
import type { ClaudeCodeStore, Session } from './store.js';
import { TurnParser, type TurnResult } from './stream-json.js';
import type { ChatEvent, NodeEvent } from './types.js';

/** stderr lines stored as nodes per turn; as many of the last ones are kept for the error message. */
const MAX_STDERR_NODES = 100;

/** How the `claude` CLI is run for every turn. */
export interface TurnSettings {
  /** The `claude` binary. */
  readonly claude: string;
  readonly env: EnvPolicy;
  readonly timeoutMs: number;
  readonly graceMs: number;
  readonly maxOutputBytes: number;
}

/** What one turn is asked to do. */
export interface TurnRequest {
  readonly session: Session;
  readonly prompt: string;
  /** Store the turn as scheduled for deletion and leave the session's head where it is. */
  readonly ephemeral: boolean;
  readonly allowedTools: readonly string[];
  readonly signal?: AbortSignal;
}

/**
 * One chat turn: stores the user's message in the session's tree, runs the CLI
 * once, stores each event it streams as a node, and on success moves the
 * session's head to the assistant's message. The caller holds the session's lock.
 */
export class Turns {
  constructor(
    private readonly arbor: ArborStorage,
    private readonly store: ClaudeCodeStore,
    private readonly settings: TurnSettings,
  ) {}

  async *run({ session: s, prompt, ephemeral, allowedTools, signal }: TurnRequest): AsyncGenerator<ChatEvent> {
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
    const node: AppendNode = (e) => (last = this.arbor.nodeCreateText(treeId, last, JSON.stringify(e), undefined, { ephemeral }));
    const userNode = this.arbor.transaction(() => {
      const messageId = this.store.addMessage({ session_id: s.id, role: 'user', content: prompt, ephemeral });
      last = this.arbor.nodeCreateExternal(treeId, last, messageHandle(messageId, 'user', 'user'), undefined, { ephemeral });
      const user = last;
      node({ type: 'user_message', content: prompt });
      node({ type: 'launch_command', command: commandLine(this.settings.claude, args) });
      node({ type: 'assistant_start' });
      return user;
    });
    yield { type: 'start', id: s.id, user_position: { tree_id: treeId, node_id: userNode } };

    const run = yield* this.#runClaude(s, args, node, signal);
    if (signal?.aborted) return; // the caller is gone; the head stays where it was
    const outcome = outcomeOf(run);
    if ('error' in outcome) {
      // The in-band event as the reference sends it, then an error item so that every
      // client (hub call's exit status, MCP's isError) sees the call failed.
      yield { type: 'error', message: outcome.error };
      throw ClaudeCodeError.turnFailed(outcome.error);
    }
    const { parser } = run;
    const { result } = outcome;
    const newHead = this.arbor.transaction(() => {
      node({ type: 'assistant_complete', usage: result.usage });
      const messageId = this.store.addMessage({
        session_id: s.id,
        role: 'assistant',
        content: parser.text,
        model_id: `claude-code-${s.model}`,
        usage: result.usage,
        ephemeral,
      });
      const head = this.arbor.nodeCreateExternal(treeId, last, messageHandle(messageId, 'assistant', 'assistant'), undefined, {
        ephemeral,
      });
      if (!ephemeral) this.store.advance(s.id, head, parser.sessionId);
      return head;
    });
    yield {
      type: 'complete',
      new_head: { tree_id: treeId, node_id: ephemeral ? s.head.node_id : newHead },
      claude_session_id: parser.sessionId ?? '',
      usage: result.usage,
    };
  }

  /** Runs the CLI once: each parsed event is stored (`node`) and yielded; returns how the process ended. */
  async *#runClaude(s: Session, args: string[], node: AppendNode, signal: AbortSignal | undefined): AsyncGenerator<ChatEvent, ClaudeRun> {
    const { claude } = this.settings;
    const env = baseEnvironment(this.settings.env);
    delete env.CLAUDECODE; // lets the CLI run inside a Claude Code session, as the reference allows
    const parser = new TurnParser();
    const stderr: string[] = [];
    let exit: ClaudeRun['exit'];
    let failure: string | undefined;
    for await (const ev of runProcess({
      file: claude,
      args,
      cwd: s.working_dir,
      env,
      timeoutMs: this.settings.timeoutMs,
      graceMs: this.settings.graceMs,
      maxOutputBytes: this.settings.maxOutputBytes,
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
              handle = this.store.addUnknownEvent(s.id, out.eventType, out.data);
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
        failure = `failed to spawn claude (${claude}): ${ev.message}`;
      } else if (ev.kind === 'process_limit') {
        failure = `claude started more than ${ev.limit} processes (the per-call cap); all of them were killed`;
      } else {
        exit = { code: ev.code, signal: ev.signal };
      }
    }
    return { parser, stderr, exit, failure };
  }
}

/** Stores one turn event as the next node of the turn. */
type AppendNode = (event: NodeEvent) => string;

/** How one run of the CLI ended. */
interface ClaudeRun {
  /** Holds the result event, the text and the CLI session id. */
  readonly parser: TurnParser;
  /** The last stderr lines (at most `MAX_STDERR_NODES`). */
  readonly stderr: readonly string[];
  /** Unset when the process did not run (or its exit was not seen). */
  readonly exit: { readonly code: number | null; readonly signal: string | null } | undefined;
  /** Timeout, output cut off, or the binary could not be started. */
  readonly failure: string | undefined;
}

/** The CLI's answer, or why the turn failed. */
function outcomeOf({ parser, stderr, exit, failure }: ClaudeRun): { readonly result: TurnResult } | { readonly error: string } {
  const result = parser.result;
  if (failure !== undefined || !result) {
    const how = exit ? (exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`) : 'did not run';
    const tail = stderr.length > 0 ? `; stderr: ${stderr.slice(-5).join(' | ')}` : '';
    return { error: failure ?? `claude ${how} before its result event (crashed mid-stream?)${tail}` };
  }
  if (result.isError) return { error: result.message ?? 'claude reported an error' };
  if (parser.text === '' && parser.sessionId === null) {
    return { error: 'Claude process produced no response. Check substrate logs for details.' };
  }
  return { result };
}
