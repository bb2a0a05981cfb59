import { PlexusError } from '../../src/index.js';
import type { ArborStorage } from '../arbor/index.js';
import { type Clock, newId, seconds } from '../storage/index.js';
import { contextMessages } from './context.js';
import { messageHandle } from './handles.js';
import { LlmError } from './llm/errors.js';
import type { LlmRegistry, ResolvedModel } from './llm/registry.js';
import type { LlmUsage } from './llm/types.js';
import type { ConeStorage } from './storage.js';
import type { ChatError, ChatEvent, ChatUsage, ConeConfig, ConeIdentifier, Position } from './types.js';

export interface ChatDeps {
  readonly arbor: ArborStorage;
  readonly cones: ConeStorage;
  readonly llm: LlmRegistry;
  readonly clock: Clock;
}

export interface ChatTurn {
  readonly identifier: ConeIdentifier;
  readonly prompt: string;
  readonly ephemeral: boolean;
  readonly signal?: AbortSignal;
}

/** A failure as the reference reports it (an in-band `error` event) and as this hub does (an `error` item after it). */
class ChatFailure {
  readonly event: ChatError;
  readonly error: PlexusError;
  constructor(code: string, message: string, retryAfterMs?: number) {
    this.event = { type: 'error', message, code, ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}) };
    this.error = new PlexusError(code, message);
  }
}

const codeOf = (err: unknown, fallback: string) => (err instanceof PlexusError && typeof err.code === 'string' ? err.code : fallback);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function chatUsage(usage: LlmUsage | undefined): ChatUsage | null {
  if (!usage) return null;
  const input = usage.inputTokens ?? null;
  const output = usage.outputTokens ?? null;
  return { input_tokens: input, output_tokens: output, total_tokens: input !== null && output !== null ? input + output : null };
}

/**
 * One chat turn, the reference's steps in order: resolve the cone, read the
 * context (root → head), store the user turn (message + node under the head, one
 * transaction), `chat_start`, one `chat_content` per provider chunk as it
 * arrives, store the answer (message + node under the user node + head, one
 * transaction), `chat_complete`.
 *
 * Failure and cancellation leave the stored conversation as it was plus the user
 * turn; no assistant node is written until the answer is whole, and the head
 * does not move. A failure yields the reference's `error` event, then throws (an
 * `error` item with the same code); a cancel (the signal aborts) just stops.
 */
export async function* runChat(deps: ChatDeps, turn: ChatTurn): AsyncGenerator<ChatEvent, void, undefined> {
  const { arbor, cones, llm, clock } = deps;
  const { signal } = turn;
  let failure: ChatFailure | undefined;

  let cone: ConeConfig;
  try {
    cone = cones.get(cones.resolve(turn.identifier));
  } catch (err) {
    failure = new ChatFailure(codeOf(err, 'cone.storage_error'), `Failed to get cone: ${messageOf(err)}`);
    yield failure.event;
    throw failure.error;
  }
  const head = cone.head;

  let model: ResolvedModel;
  try {
    model = llm.resolve(cone.model_id);
  } catch (err) {
    failure = new ChatFailure('cone.invalid_state', `Failed to create request builder: Invalid model_id '${cone.model_id}': ${messageOf(err)}`);
    yield failure.event;
    throw failure.error;
  }

  let context;
  try {
    const path = arbor.contextGetPath(head.tree_id, head.node_id);
    try {
      context = contextMessages(path, (id) => cones.message(id));
    } catch (err) {
      failure = new ChatFailure(codeOf(err, 'cone.not_found'), `Failed to resolve context: ${messageOf(err)}`);
    }
  } catch (err) {
    failure = new ChatFailure('cone.arbor_error', `Failed to get context path: ${messageOf(err)}`);
  }
  if (failure || !context) {
    yield failure!.event;
    throw failure!.error;
  }

  const stamp = () => (turn.ephemeral ? -seconds(clock) : seconds(clock));
  const userMessageId = newId();
  let userNode: string;
  try {
    userNode = arbor.transaction(() => {
      try {
        cones.insertMessage({ id: userMessageId, cone_id: cone.id, role: 'user', content: turn.prompt, model_id: null, input_tokens: null, output_tokens: null, created_at: stamp() });
      } catch (err) {
        throw new ChatFailure('cone.storage_error', `Failed to store user message: ${messageOf(err)}`);
      }
      try {
        return arbor.nodeCreateExternal(head.tree_id, head.node_id, messageHandle(userMessageId, 'user', 'user'), undefined, { ephemeral: turn.ephemeral });
      } catch (err) {
        throw new ChatFailure('cone.arbor_error', `Failed to create user node: ${messageOf(err)}`);
      }
    });
  } catch (err) {
    failure = err instanceof ChatFailure ? err : new ChatFailure('cone.storage_error', `Failed to store user message: ${messageOf(err)}`);
    yield failure.event;
    throw failure.error;
  }
  const userPosition: Position = { tree_id: head.tree_id, node_id: userNode };
  yield { type: 'chat_start', cone_id: cone.id, user_position: userPosition };

  let answer = '';
  let usage: LlmUsage | undefined;
  try {
    const request = {
      model: model.model,
      ...(cone.system_prompt ? { system: cone.system_prompt } : {}),
      messages: [...context, { role: 'user' as const, content: turn.prompt }],
      ...(model.maxTokens !== undefined ? { maxTokens: model.maxTokens } : {}),
      ...(model.temperature !== undefined ? { temperature: model.temperature } : {}),
    };
    for await (const event of llm.provider(model.service).stream(request, signal)) {
      if (event.type === 'content') {
        answer += event.text;
        yield { type: 'chat_content', cone_id: cone.id, content: event.text };
      } else {
        usage = event.usage;
      }
    }
  } catch (err) {
    if (signal?.aborted) return; // cancelled: the user turn stays, nothing else is written
    if (err instanceof LlmError) {
      const prefix = err.phase === 'start' ? 'Failed to start LLM stream' : err.providerType ? 'LLM error' : 'Stream error';
      failure = new ChatFailure(err.code, `${prefix}: ${err.message}`, err.retryAfterMs);
    } else {
      failure = new ChatFailure('cone.provider_error', `LLM error: ${messageOf(err)}`);
    }
    yield failure.event;
    throw failure.error;
  }
  if (signal?.aborted) return;

  let newHead: Position;
  try {
    const node = arbor.transaction(() => {
      const assistantMessageId = newId();
      try {
        cones.insertMessage({
          id: assistantMessageId,
          cone_id: cone.id,
          role: 'assistant',
          content: answer,
          model_id: cone.model_id,
          input_tokens: usage?.inputTokens ?? null,
          output_tokens: usage?.outputTokens ?? null,
          created_at: stamp(),
        });
      } catch (err) {
        throw new ChatFailure('cone.storage_error', `Failed to store assistant message: ${messageOf(err)}`);
      }
      let id: string;
      try {
        id = arbor.nodeCreateExternal(head.tree_id, userNode, messageHandle(assistantMessageId, 'assistant', cone.name), undefined, { ephemeral: turn.ephemeral });
      } catch (err) {
        throw new ChatFailure('cone.arbor_error', `Failed to create response node: ${messageOf(err)}`);
      }
      if (!turn.ephemeral) {
        try {
          cones.setHead(cone.id, id, seconds(clock));
        } catch (err) {
          throw new ChatFailure(codeOf(err, 'cone.storage_error'), `Failed to update head: ${messageOf(err)}`);
        }
      }
      return id;
    });
    newHead = turn.ephemeral ? head : { tree_id: head.tree_id, node_id: node };
  } catch (err) {
    failure = err instanceof ChatFailure ? err : new ChatFailure('cone.storage_error', `Failed to store assistant message: ${messageOf(err)}`);
    yield failure.event;
    throw failure.error;
  }
  yield { type: 'chat_complete', cone_id: cone.id, new_head: newHead, usage: chatUsage(usage) };
}

