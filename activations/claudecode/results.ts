/** What each claudecode method answers (its terminal item): the wire shapes of the reference, field for field. */
import type { BufferedEvent, ClaudeCodeConfig, ClaudeCodeInfo, ClaudeMessage, Position, StreamInfo, StreamStatus } from './types.js';

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
