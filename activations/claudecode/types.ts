/**
 * claudecode's wire types, field for field as the reference (`claudecode/types.rs`)
 * serialises them. Additions are optional fields only.
 */

export type Model = 'opus' | 'sonnet' | 'haiku';

/** A place in a conversation tree. */
export interface Position {
  tree_id: string;
  node_id: string;
}

export interface ChatUsage {
  input_tokens: number | null;
  output_tokens: number | null;
  /** Read from the CLI's `total_cost_usd` (current CLIs), or `cost_usd` (older ones). */
  cost_usd: number | null;
  num_turns: number | null;
}

/** The session has started a turn: the user's message is stored at `user_position`. */
export interface ChatStart {
  type: 'start';
  id: string;
  user_position: Position;
}
/** Assistant text, as the CLI streams it. */
export interface ChatContent {
  type: 'content';
  text: string;
}
/** A thinking block. */
export interface ChatThinking {
  type: 'thinking';
  thinking: string;
}
/** Claude called a tool (reported once per `tool_use_id`). */
export interface ChatToolUse {
  type: 'tool_use';
  tool_name: string;
  tool_use_id: string;
  input: unknown;
}
/** A tool's result (from the CLI's `user` events, which the reference dropped). */
export interface ChatToolResult {
  type: 'tool_result';
  tool_use_id: string;
  output: string;
  is_error: boolean;
}
/** The turn is stored; `new_head` is where the next turn continues. */
export interface ChatComplete {
  type: 'complete';
  new_head: Position;
  claude_session_id: string;
  usage: ChatUsage | null;
}
/** A CLI event this activation does not interpret, stored and forwarded as-is. */
export interface ChatPassthrough {
  type: 'passthrough';
  event_type: string;
  /** Id of the stored event, or "storage-failed". */
  handle: string;
  data: unknown;
}
/** Something went wrong; see the README for which errors end the turn. */
export interface ChatError {
  type: 'error';
  message: string;
}

export type ChatEvent = ChatStart | ChatContent | ChatThinking | ChatToolUse | ChatToolResult | ChatComplete | ChatPassthrough | ChatError;

export interface ClaudeCodeConfig {
  id: string;
  name: string;
  /** The CLI's own session id (passed as `--resume`); null until the first turn. */
  claude_session_id: string | null;
  loopback_session_id: string | null;
  head: Position;
  working_dir: string;
  model: Model;
  system_prompt: string | null;
  mcp_config: unknown;
  loopback_enabled: boolean;
  metadata: unknown;
  created_at: number;
  updated_at: number;
}

export interface ClaudeCodeInfo {
  id: string;
  name: string;
  model: Model;
  head: Position;
  claude_session_id: string | null;
  working_dir: string;
  loopback_enabled: boolean;
  created_at: number;
}

/**
 * Arbor text nodes of a turn: each is the JSON of one of these (the reference's
 * `NodeEvent`), so `render_context` can rebuild Claude API messages.
 */
export type NodeEvent =
  | { type: 'user_message'; content: string }
  | { type: 'assistant_start' }
  | { type: 'content_text'; text: string }
  | { type: 'content_tool_use'; id: string; name: string; input: unknown }
  | { type: 'content_thinking'; thinking: string }
  | { type: 'user_tool_result'; tool_use_id: string; content: string; is_error: boolean }
  | { type: 'assistant_complete'; usage: ChatUsage | null }
  | { type: 'launch_command'; command: string }
  | { type: 'claude_stderr'; text: string };

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error: boolean }
  | { type: 'thinking'; thinking: string };

/** A message in the Claude API's form. */
export interface ClaudeMessage {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export type StreamStatus = 'running' | 'awaiting_permission' | 'complete' | 'failed';

/** A background turn started by `chat_async`. */
export interface StreamInfo {
  stream_id: string;
  session_id: string;
  status: StreamStatus;
  user_position: Position | null;
  event_count: number;
  read_position: number;
  started_at: number;
  ended_at: number | null;
  error: string | null;
}

export interface BufferedEvent {
  /** 0-based position in the stream. */
  seq: number;
  event: ChatEvent;
  /** Unix seconds. */
  timestamp: number;
}
