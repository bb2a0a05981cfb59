import { PlexusError } from '../../src/index.js';

/** The reference's `ClaudeCodeError` kinds; the wire code is `claudecode.<kind>`. */
export type ClaudeCodeErrorKind =
  | 'path_resolution'
  | 'session_not_found'
  | 'ambiguous_session'
  | 'database'
  | 'parse'
  | 'serialization'
  | 'arbor'
  | 'session_file'
  | 'mcp_unreachable'
  // Ours: the reference reports a failed turn only in-band (a `{"type":"error"}` event).
  | 'turn_failed';

/** A failure of a claudecode method: an `error` item with the reference's code and message. */
export class ClaudeCodeError extends PlexusError {
  constructor(
    readonly kind: ClaudeCodeErrorKind,
    message: string,
    details?: Readonly<Record<string, unknown>>,
  ) {
    super(`claudecode.${kind}`, message, false, details);
  }

  static sessionNotFound(identifier: string): ClaudeCodeError {
    return new ClaudeCodeError('session_not_found', `session not found: ${identifier}`, { session: identifier });
  }
  static ambiguous(name: string, matches: readonly string[]): ClaudeCodeError {
    return new ClaudeCodeError('ambiguous_session', `ambiguous session name '${name}' matches multiple sessions: ${matches.join(', ')}`, {
      name,
      matches,
    });
  }
  static pathResolution(path: string, cause: string): ClaudeCodeError {
    return new ClaudeCodeError('path_resolution', `failed to resolve working directory '${path}': ${cause}`);
  }
  static arbor(detail: string): ClaudeCodeError {
    return new ClaudeCodeError('arbor', `arbor error: ${detail}`);
  }
  /** The turn's `claude` run failed (crash, error result, missing binary, timeout): the stream's error item. */
  static turnFailed(detail: string): ClaudeCodeError {
    return new ClaudeCodeError('turn_failed', `claude turn failed: ${detail}`);
  }
  static serialization(detail: string): ClaudeCodeError {
    return new ClaudeCodeError('serialization', `serialization error: ${detail}`);
  }
}
