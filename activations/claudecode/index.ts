/** claudecode: Claude Code CLI sessions, stored in arbor. */
export {
  ClaudeCode,
  CLAUDECODE_PLUGIN_ID,
  type ClaudeCodeOptions,
  type CreateOk,
  type GetOk,
  type ListOk,
  type DeleteOk,
  type ForkOk,
  type GetTreeOk,
  type RenderOk,
  type ChatStartOk,
  type PollOk,
  type StreamListOk,
  type SessionsListOk,
  type SessionsGetOk,
  type SessionsImportOk,
  type SessionsExportOk,
  type SessionsDeleteOk,
} from './activation.js';
export { ClaudeCodeError, type ClaudeCodeErrorKind } from './errors.js';
export { buildArgs, type TurnArgs } from './args.js';
export { locateClaude } from './locate.js';
export { TurnParser, type ParsedOutput, type TurnResult } from './stream-json.js';
export { renderMessages } from './render.js';
export * from './types.js';
export { SessionFiles, DEFAULT_SESSIONS_ROOT, importNodeEvents, exportSessionEvents } from './session-files.js';
