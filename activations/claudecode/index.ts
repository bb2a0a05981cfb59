/** claudecode: Claude Code CLI sessions, stored in arbor. */
export { ClaudeCode, type ClaudeCodeOptions } from './activation.js';
export { CLAUDECODE_PLUGIN_ID } from './handles.js';
export type {
  CreateOk,
  GetOk,
  ListOk,
  DeleteOk,
  ForkOk,
  GetTreeOk,
  RenderOk,
  ChatStartOk,
  PollOk,
  StreamListOk,
  SessionsListOk,
  SessionsGetOk,
  SessionsImportOk,
  SessionsExportOk,
  SessionsDeleteOk,
} from './results.js';
export { ClaudeCodeError, type ClaudeCodeErrorKind } from './errors.js';
export { buildArgs, type TurnArgs } from './args.js';
export { locateClaude } from './locate.js';
export { TurnParser, type ParsedOutput, type TurnResult } from './stream-json.js';
export { renderMessages } from './render.js';
export * from './types.js';
export { SessionFiles, DEFAULT_SESSIONS_ROOT, importNodeEvents, exportSessionEvents } from './session-files.js';
