import { activation, method, PlexusError, type CallContext, type StopMark } from '../../src/index.js';
import type { Arbor, ArborStorage } from '../arbor/index.js';
import { type Clock, type GroupCommit, groupCommit, isUuid, newId, seconds, systemClock } from '../storage/index.js';
import { runChat } from './chat.js';
import { ConeError } from './errors.js';
import { CONE_PLUGIN_ID, messageIdOf } from './handles.js';
import { LlmRegistry } from './llm/registry.js';
import { ConeStorage } from './storage.js';
import type {
  ChatEvent,
  ConeCreated,
  ConeData,
  ConeDeleted,
  ConeIdentifier,
  ConeList,
  HeadUpdated,
  RegistryEvent,
  ResolvedMessage,
} from './types.js';

export interface ConeOptions {
  /** The arbor whose trees hold the conversations; cone's tables go into the same database. */
  readonly arbor: Arbor;
  /** The LLM services and models (default: from env vars and `$PLEXUS_LLM_CONFIG`). */
  readonly llm?: LlmRegistry;
  readonly clock?: Clock;
}

/** What a unary method throws: arbor failures as `cone.arbor_error`, anything unexpected as `cone.storage_error` (with its cause). */
function coneError(operation: string, err: unknown): PlexusError {
  if (err instanceof PlexusError && typeof err.code === 'string' && err.code.startsWith('arbor.')) return ConeError.arbor(err.message);
  if (err instanceof PlexusError) return err;
  return ConeError.storage(operation, (err as Error).message);
}

function withConeErrors<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw coneError(operation, err);
  }
}

/**
 * The identifier as the reference takes it (`{type: "by_name" | "by_id", …}`), or,
 * as a convenience for CLIs, a plain string: a UUID is an id, anything else a name.
 */
function validIdentifier(identifier: ConeIdentifier | string): ConeIdentifier {
  if (typeof identifier === 'string') return isUuid(identifier) ? { type: 'by_id', id: identifier } : { type: 'by_name', name: identifier };
  if (identifier.type === 'by_id' && !isUuid(identifier.id)) {
    throw PlexusError.invalidParams(`param 'identifier.id' must be a UUID (8-4-4-4-12 hex digits), got ${JSON.stringify(identifier.id)}`);
  }
  return identifier;
}

/**
 * LLM cone with persistent conversation context.
 *
 * Named conversations ("cones") whose history is a tree in arbor; each chat turn
 * sends the path root → head to an LLM (Anthropic Messages or OpenAI Chat
 * Completions, streamed) and appends the prompt and the answer as nodes.
 * Wire-compatible with the reference server's `cone`.
 */
@activation('cone', { version: '1.0.0', description: 'LLM cone with persistent conversation context' })
export class Cone {
  readonly storage: ConeStorage;
  readonly llm: LlmRegistry;
  readonly #arbor: ArborStorage;
  readonly #clock: Clock;
  readonly #commits: GroupCommit;
  readonly #unregister: () => void;

  constructor(options: ConeOptions) {
    this.#arbor = options.arbor.storage;
    this.storage = new ConeStorage(this.#arbor.db);
    this.llm = options.llm ?? new LlmRegistry();
    this.#clock = options.clock ?? systemClock;
    this.#commits = groupCommit(this.#arbor.db);
    // arbor's tree_render shows cone messages through this.
    this.#unregister = options.arbor.registerHandleResolver(CONE_PLUGIN_ID, (handle) => this.resolveHandle(handle.meta ?? []));
  }

  /** A write as one transaction shared with the event-loop turn's other writes; resolves after the commit. */
  #write<T>(operation: string, fn: () => T): Promise<T> {
    return this.#commits.run(fn).catch((err: unknown) => {
      throw coneError(operation, err);
    });
  }

  /** Stops resolving cone handles in arbor. The database belongs to arbor. */
  close(): void {
    this.#unregister();
  }

  /** A stored message as arbor's `tree_render` shows it (the reference's `resolve_handle`). */
  resolveHandle(meta: readonly string[]): ResolvedMessage {
    const id = messageIdOf(meta);
    if (!id) throw new Error('Cone handle missing message ID in meta');
    const m = this.storage.message(id);
    if (!m) throw ConeError.notFound(`message:${id}`);
    return { type: 'resolved_message', id: m.id, role: m.role, content: m.content, model: m.model_id, name: meta[2] ?? m.role };
  }

  /**
   * Create a new cone (LLM agent with persistent conversation context)
   * @param name - Human-readable name for the cone
   * @param model_id - LLM model ID (e.g., 'gpt-4o-mini', 'claude-3-haiku-20240307')
   * @param system_prompt - Optional system prompt / instructions
   * @param metadata - Optional configuration metadata
   */
  @method({ verbs: ['write'] })
  create(name: string, model_id: string, system_prompt?: string, metadata?: unknown): Promise<ConeCreated> {
    try {
      this.llm.resolve(model_id);
    } catch (err) {
      throw ConeError.invalidState(`Invalid model_id '${model_id}': ${(err as Error).message}`);
    }
    return this.#write('create', () => {
      const id = newId();
      const tree_id = this.#arbor.treeCreate(metadata, id);
      const head = { tree_id, node_id: this.#arbor.treeGetSkeleton(tree_id).root };
      this.storage.insert({ id, name, modelId: model_id, systemPrompt: system_prompt ?? null, head, metadata, now: seconds(this.#clock) });
      return { type: 'cone_created' as const, cone_id: id, head };
    });
  }

  /**
   * Get cone configuration by name or ID
   * @param identifier - Cone name or UUID (e.g., 'my-assistant' or '550e8400-e29b-...')
   */
  @method()
  get(identifier: ConeIdentifier | string): ConeData {
    return withConeErrors('get', () => ({ type: 'cone_data', cone: this.storage.get(this.storage.resolve(validIdentifier(identifier))) }));
  }

  /** List all cones */
  @method()
  list(): ConeList {
    return withConeErrors('list', () => ({ type: 'cone_list', cones: this.storage.list() }));
  }

  /**
   * Delete a cone (associated tree is preserved)
   * @param identifier - Cone name or UUID (e.g., 'my-assistant' or '550e8400-e29b-...')
   */
  @method({ verbs: ['write'] })
  delete(identifier: ConeIdentifier | string): Promise<ConeDeleted> {
    const valid = validIdentifier(identifier);
    return this.#write('delete', () => {
      const id = this.storage.resolve(valid);
      this.storage.delete(id);
      return { type: 'cone_deleted' as const, cone_id: id };
    });
  }

  /**
   * Chat with a cone - appends prompt to context, calls LLM, advances head
   * @param identifier - Cone name or UUID (e.g., 'my-assistant' or '550e8400-e29b-...')
   * @param prompt - User message / prompt to send to the LLM
   * @param ephemeral - If true, creates nodes but doesn't advance head and marks for deletion
   */
  @method({ verbs: ['write'], streaming: true })
  chat(
    identifier: ConeIdentifier | string,
    prompt: string,
    ephemeral?: boolean,
    ctx?: CallContext,
  ): AsyncGenerator<ChatEvent | StopMark, void, undefined> {
    return runChat(
      { arbor: this.#arbor, cones: this.storage, llm: this.llm, clock: this.#clock, write: (fn) => this.#commits.run(fn) },
      { identifier: validIdentifier(identifier), prompt, ephemeral: ephemeral ?? false, ...(ctx ? { signal: ctx.signal } : {}) },
    );
  }

  /**
   * Move cone's canonical head to a different node in the tree
   * @param identifier - Cone name or UUID (e.g., 'my-assistant' or '550e8400-e29b-...')
   * @param node_id - UUID of the target node to set as the new head
   */
  @method({ verbs: ['write'] })
  setHead(identifier: ConeIdentifier | string, node_id: string): Promise<HeadUpdated> {
    if (!isUuid(node_id))
      throw PlexusError.invalidParams(`param 'node_id' must be a UUID (8-4-4-4-12 hex digits), got ${JSON.stringify(node_id)}`);
    const valid = validIdentifier(identifier);
    const target = node_id.toLowerCase();
    return this.#write('set_head', () => {
      const cone = this.storage.get(this.storage.resolve(valid));
      // The reference does not check; a head outside the tree would break every later chat.
      this.#arbor.nodeGet(cone.head.tree_id, target);
      this.storage.setHead(cone.id, target, seconds(this.#clock));
      return {
        type: 'head_updated' as const,
        cone_id: cone.id,
        old_head: cone.head,
        new_head: { tree_id: cone.head.tree_id, node_id: target },
      };
    });
  }

  /** Get available LLM services and models */
  @method()
  registry(): RegistryEvent {
    return { type: 'registry', ...this.llm.export() };
  }
}
