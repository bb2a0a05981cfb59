import { PlexusError, type StopMark } from '../../src/index.js';
import type { ArborStorage } from '../arbor/index.js';
import { type Clock, newId, seconds } from '../storage/index.js';
import { contextMessages } from './context.js';
import { messageHandle } from './handles.js';
import { LlmError } from './llm/errors.js';
import type { LlmRegistry } from './llm/registry.js';
import { stopForFinish } from './llm/stop-reason.js';
import type { LlmRequest, LlmUsage } from './llm/types.js';
import type { ConeStorage } from './storage.js';
import type { ChatError, ChatEvent, ChatUsage, ConeIdentifier, Position } from './types.js';

export interface ChatDeps {
  readonly arbor: ArborStorage;
  readonly cones: ConeStorage;
  readonly llm: LlmRegistry;
  readonly clock: Clock;
  /** Runs writes as one transaction and resolves once it committed (the database's group commit). */
  readonly write: <T>(fn: () => T) => Promise<T>;
}

export interface ChatTurn {
  readonly identifier: ConeIdentifier;
  readonly prompt: string;
  readonly ephemeral: boolean;
  readonly signal?: AbortSignal;
}

/** A failed step, as the reference reports it (an in-band `error` event) and as this hub does (an `error` item after it). */
class ChatFailure extends Error {
  readonly event: ChatError;
  constructor(
    readonly code: string,
    message: string,
    retryAfterMs?: number,
  ) {
    super(message);
    this.event = { type: 'error', message, code, ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}) };
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The error's own named code (`cone.not_found`, …), else `fallback`. */
const codeOr = (fallback: string) => (err: unknown) => (err instanceof PlexusError && typeof err.code === 'string' ? err.code : fallback);

/** Runs one step; what it throws becomes a failure with the reference's message (`<what>: <cause>`). */
function attempt<T>(what: string, code: string | ((err: unknown) => string), step: () => T): T {
  try {
    return step();
  } catch (err) {
    throw asFailure(err, what, code);
  }
}

function asFailure(err: unknown, what: string, code: string | ((err: unknown) => string)): ChatFailure {
  if (err instanceof ChatFailure) return err;
  return new ChatFailure(typeof code === 'string' ? code : code(err), `${what}: ${messageOf(err)}`);
}

/** As `attempt`, for a write that is done once it committed. */
async function committed<T>(what: string, code: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    throw asFailure(err, what, code);
  }
}

/** A provider failure under the reference's prefixes: before the stream, an error event of the provider, or the stream breaking. */
function llmFailure(err: unknown): ChatFailure {
  if (!(err instanceof LlmError)) return new ChatFailure('cone.provider_error', `LLM error: ${messageOf(err)}`);
  const prefix = err.phase === 'start' ? 'Failed to start LLM stream' : err.providerType ? 'LLM error' : 'Stream error';
  return new ChatFailure(err.code, `${prefix}: ${err.message}`, err.retryAfterMs);
}

function chatUsage(usage: LlmUsage | undefined): ChatUsage | null {
  if (!usage) return null;
  const input = usage.inputTokens ?? null;
  const output = usage.outputTokens ?? null;
  return { input_tokens: input, output_tokens: output, total_tokens: input !== null && output !== null ? input + output : null };
}

/**
 * One chat turn. A failed step yields the reference's `error` event and then
 * throws (an `error` item with the same code follows it on the wire); a cancel
 * (the signal aborts, or the consumer stops) just ends the stream.
 */
export async function* runChat(deps: ChatDeps, turn: ChatTurn): AsyncGenerator<ChatEvent | StopMark, void, undefined> {
  try {
    yield* chatSteps(deps, turn);
  } catch (err) {
    if (!(err instanceof ChatFailure)) throw err;
    yield err.event;
    throw new PlexusError(err.code, err.message);
  }
}

/**
 * The reference's steps in order: resolve the cone, read the context (root →
 * head), store the user turn (message + node under the head, one transaction),
 * `chat_start`, one `chat_content` per provider chunk as it arrives, store the
 * answer (message + node under the user node + new head, one transaction),
 * `chat_complete`. Each event that reports a write comes after its commit.
 *
 * So failure and cancellation leave the stored conversation as it was plus the
 * user turn (beside the head, as the reference leaves it): no assistant node is
 * written until the answer is whole, and the head does not move.
 */
async function* chatSteps(deps: ChatDeps, turn: ChatTurn): AsyncGenerator<ChatEvent | StopMark, void, undefined> {
  const { arbor, cones, llm, clock, write } = deps;
  const { signal, ephemeral } = turn;
  const stamp = () => (ephemeral ? -seconds(clock) : seconds(clock));

  const cone = attempt('Failed to get cone', codeOr('cone.storage_error'), () => cones.get(cones.resolve(turn.identifier)));
  const head = cone.head;
  const model = attempt(`Failed to create request builder: Invalid model_id '${cone.model_id}'`, 'cone.invalid_state', () =>
    llm.resolve(cone.model_id),
  );
  const path = attempt('Failed to get context path', 'cone.arbor_error', () => arbor.contextGetPath(head.tree_id, head.node_id));
  const context = attempt('Failed to resolve context', codeOr('cone.not_found'), () => contextMessages(path, (id) => cones.message(id)));

  const userNode = await committed(
    'Failed to store user message',
    'cone.storage_error',
    write(() => {
      const id = newId();
      attempt('Failed to store user message', 'cone.storage_error', () =>
        cones.insertMessage({
          id,
          cone_id: cone.id,
          role: 'user',
          content: turn.prompt,
          model_id: null,
          input_tokens: null,
          output_tokens: null,
          created_at: stamp(),
        }),
      );
      return attempt('Failed to create user node', 'cone.arbor_error', () =>
        arbor.nodeCreateExternal(head.tree_id, head.node_id, messageHandle(id, 'user', 'user'), undefined, { ephemeral }),
      );
    }),
  );
  yield { type: 'chat_start', cone_id: cone.id, user_position: { tree_id: head.tree_id, node_id: userNode } };

  const request: LlmRequest = {
    model: model.model,
    ...(cone.system_prompt ? { system: cone.system_prompt } : {}),
    messages: [...context, { role: 'user', content: turn.prompt }],
    // Always sent, as the reference does: the model's own limits or the registry's defaults.
    ...llm.limits(model),
  };
  let answer = '';
  let usage: LlmUsage | undefined;
  let finish: string | undefined;
  try {
    for await (const event of llm.provider(model.service).stream(request, signal)) {
      if (event.type === 'finish') {
        usage = event.usage;
        finish = event.stopReason;
        continue;
      }
      answer += event.text;
      yield { type: 'chat_content', cone_id: cone.id, content: event.text };
    }
  } catch (err) {
    if (signal?.aborted) return; // cancelled: the user turn stays, nothing else is written
    throw llmFailure(err);
  }
  if (signal?.aborted) return;

  const answerNode = await committed(
    'Failed to store assistant message',
    'cone.storage_error',
    write(() => {
      const id = newId();
      attempt('Failed to store assistant message', 'cone.storage_error', () =>
        cones.insertMessage({
          id,
          cone_id: cone.id,
          role: 'assistant',
          content: answer,
          model_id: cone.model_id,
          input_tokens: usage?.inputTokens ?? null,
          output_tokens: usage?.outputTokens ?? null,
          created_at: stamp(),
        }),
      );
      const node = attempt('Failed to create response node', 'cone.arbor_error', () =>
        arbor.nodeCreateExternal(head.tree_id, userNode, messageHandle(id, 'assistant', cone.name), undefined, { ephemeral }),
      );
      if (!ephemeral) attempt('Failed to update head', codeOr('cone.storage_error'), () => cones.setHead(cone.id, node, seconds(clock)));
      return node;
    }),
  );
  const newHead: Position = ephemeral ? head : { tree_id: head.tree_id, node_id: answerNode };
  yield { type: 'chat_complete', cone_id: cone.id, new_head: newHead, usage: chatUsage(usage) };
  // The answer is stored either way; the turn form also says it was cut or declined.
  const stop = stopForFinish(model.service.name, finish);
  if (stop) yield stop;
}
