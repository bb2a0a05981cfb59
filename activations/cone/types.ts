/**
 * cone's wire types, field for field as the reference (`cone/types.rs`,
 * `cone/methods.rs`) serialises them: tagged by `type`, snake_case, ids as
 * lowercase UUID strings, timestamps in Unix seconds.
 */
import type { RegistryExport } from './llm/registry.js';

/** A cone by name (exact, else a unique prefix: `assistant` or `assistant#550e`) or by id. */
export type ConeIdentifier = { type: 'by_name'; name: string } | { type: 'by_id'; id: string };

/** A node of the cone's arbor tree. */
export interface Position {
  tree_id: string;
  node_id: string;
}

export interface ConeConfig {
  id: string;
  name: string;
  model_id: string;
  system_prompt: string | null;
  /** Where the next chat continues from. */
  head: Position;
  metadata: unknown;
  created_at: number;
  updated_at: number;
}

export interface ConeInfo {
  id: string;
  name: string;
  model_id: string;
  head: Position;
  created_at: number;
}

/** Token counts, when the provider reported them. */
export interface ChatUsage {
  input_tokens: number | null;
  output_tokens: number | null;
  /** Only when both counts are known. */
  total_tokens: number | null;
}

/** The user turn is stored; the LLM is being asked. */
export interface ChatStart {
  type: 'chat_start';
  cone_id: string;
  /** The user's node (the head advanced by the prompt). */
  user_position: Position;
}

/** One chunk of the answer, as the provider sent it. */
export interface ChatContent {
  type: 'chat_content';
  cone_id: string;
  content: string;
}

/** The answer is stored; `new_head` is its node (the old head for an ephemeral chat). */
export interface ChatComplete {
  type: 'chat_complete';
  cone_id: string;
  new_head: Position;
  usage: ChatUsage | null;
}

/**
 * The chat failed (the reference's in-band event); an `error` item with the same
 * code and message follows it. Extra fields beyond the reference's `message`:
 * `code`, and `retry_after_ms` when the provider said how long to wait.
 */
export interface ChatError {
  type: 'error';
  message: string;
  code: string;
  retry_after_ms?: number;
}

export type ChatEvent = ChatStart | ChatContent | ChatComplete | ChatError;

export interface ConeCreated {
  type: 'cone_created';
  cone_id: string;
  head: Position;
}

export interface ConeData {
  type: 'cone_data';
  cone: ConeConfig;
}

export interface ConeList {
  type: 'cone_list';
  /** Newest first. */
  cones: ConeInfo[];
}

export interface ConeDeleted {
  type: 'cone_deleted';
  cone_id: string;
}

export interface HeadUpdated {
  type: 'head_updated';
  cone_id: string;
  old_head: Position;
  new_head: Position;
}

/** The LLM services and models this hub can call (the reference's `RegistryExport`, flattened). */
export type RegistryEvent = { type: 'registry' } & RegistryExport;

/** What arbor's `tree_render` shows for a cone message handle (content_type `cone.resolve_handle` in the reference). */
export interface ResolvedMessage {
  type: 'resolved_message';
  id: string;
  role: string;
  content: string;
  model: string | null;
  name: string;
}
