/**
 * Error codes of the wire contract (spec §3). This module imports nothing: `hub
 * codegen` copies the wire module into generated clients as-is.
 */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ExecutionError: -32000,
  AuthenticationRequired: -32001,
  Forbidden: -32003,
  TooManyStreams: -32005,
  /** A bidirectional request was declined, timed out or cancelled (OUR CHOICE). */
  RequestFailed: -32006,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The one error class of the wire, on both sides. On the server it crosses the
 * wire as-is: its message and code become the `error` item (or the JSON-RPC error
 * answer). Methods may throw it to choose their own code; anything else they throw
 * becomes `Execution error: <message>` with code -32000. Clients throw it for an
 * `error` item or a JSON-RPC error answer, with the numeric code. Codes are
 * JSON-RPC numbers, or domain names such as `arbor.tree_not_found` (the reference
 * server's per-activation codes); an `error` item carries either as a string.
 */
export class PlexusError extends Error {
  override readonly name = 'PlexusError';
  /**
   * Facts a caller can act on without parsing the message (the reference's
   * `TurnError.details`), e.g. `{"tree_id": "…"}` for `arbor.tree_not_found`. Any
   * JSON; carried on the `error` item, the `failed` terminal and MCP tool results.
   */
  readonly details?: unknown;
  constructor(
    readonly code: number | string,
    message: string,
    readonly recoverable = false,
    details?: unknown,
  ) {
    super(message);
    if (details !== undefined) this.details = details;
  }

  static activationNotFound(segment: string): PlexusError {
    return new PlexusError(ErrorCode.MethodNotFound, `Activation not found: ${segment}`);
  }

  static methodNotFound(path: string): PlexusError {
    return new PlexusError(ErrorCode.MethodNotFound, `Method not found: ${path}`);
  }

  static invalidParams(what: string): PlexusError {
    return new PlexusError(ErrorCode.InvalidParams, `Invalid params: ${what}`);
  }
}

/** What a thrown value becomes on the wire. */
export function toPlexusError(err: unknown): PlexusError {
  if (err instanceof PlexusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PlexusError(ErrorCode.ExecutionError, `Execution error: ${message}`);
}

/**
 * An `error` item's code as a value: numeric codes (`"-32601"`) as numbers, named
 * ones (`"arbor.tree_not_found"`) unchanged, and -32000 when the item has none.
 */
export function errorItemCode(code: string | undefined): number | string {
  if (code === undefined || code === '') return ErrorCode.ExecutionError;
  return /^-?\d+$/.test(code) ? Number(code) : code;
}

/**
 * A code as the reference's turn runtime names it (`TurnError.code`, a dotted
 * string): named codes unchanged, the wire's numeric ones by their reserved names.
 */
export function turnErrorCode(code: number | string): string {
  if (typeof code === 'string') return code;
  return TURN_CODES[code] ?? String(code);
}

const TURN_CODES: Readonly<Record<number, string>> = {
  [ErrorCode.MethodNotFound]: 'plexus.method_not_found',
  [ErrorCode.InvalidParams]: 'plexus.invalid_params',
  [ErrorCode.ExecutionError]: 'plexus.execution_error',
  [ErrorCode.AuthenticationRequired]: 'plexus.unauthenticated',
  [ErrorCode.RequestFailed]: 'plexus.callback_failed',
};

const NUMERIC_CODES: ReadonlyMap<string, number> = new Map(Object.entries(TURN_CODES).map(([n, name]) => [name, Number(n)]));

/**
 * A turn's error code as an `error` item's would be read (`errorItemCode`): the
 * reserved names we emit for numeric codes back to those numbers, others unchanged.
 * So a client sees the same `PlexusError.code` in either wire form.
 */
export function turnCodeValue(code: string): number | string {
  return NUMERIC_CODES.get(code) ?? code;
}
