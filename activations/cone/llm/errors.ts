/**
 * Every way an LLM call can fail, as one error type with a stable code. The cone
 * activation turns these into `error` items; the codes follow the reference's
 * `cone.<kind>` naming.
 */
export const LlmErrorCode = {
  /** No API key for a service that needs one. */
  NotConfigured: 'cone.provider_not_configured',
  /** 401/403: the key was refused. */
  Auth: 'cone.provider_auth',
  /** Other 4xx: the provider refused the request (bad model, too long, …). */
  BadRequest: 'cone.provider_bad_request',
  /** 429 (and Anthropic's `rate_limit_error`): carries `retryAfterMs` when the provider said. */
  RateLimited: 'cone.provider_rate_limited',
  /** 5xx, 529 or an `overloaded_error`/`api_error` event. */
  Unavailable: 'cone.provider_unavailable',
  /** The provider reported an error inside the stream. */
  StreamError: 'cone.provider_stream_error',
  /** The body is not the SSE the wire format promises (bad framing, bad JSON, wrong content type). */
  Malformed: 'cone.provider_malformed',
  /** The stream ended (or the connection dropped) before the provider's end-of-answer marker. */
  StreamCut: 'cone.provider_stream_cut',
  /** No response headers, or no bytes between chunks, within the configured time. */
  Timeout: 'cone.provider_timeout',
  /** The HTTP request could not be made (refused, DNS, TLS). */
  Unreachable: 'cone.provider_unreachable',
} as const;
export type LlmErrorCode = (typeof LlmErrorCode)[keyof typeof LlmErrorCode];

/** Where the failure happened: before the answer started streaming, or during it. */
export type LlmErrorPhase = 'start' | 'stream';

export interface LlmErrorInit {
  readonly phase: LlmErrorPhase;
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** The provider's own error type, e.g. `rate_limit_error`, `insufficient_quota`. */
  readonly providerType?: string;
}

export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly phase: LlmErrorPhase;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly providerType?: string;

  constructor(
    readonly code: LlmErrorCode,
    message: string,
    init: LlmErrorInit,
  ) {
    super(message);
    this.phase = init.phase;
    if (init.status !== undefined) this.status = init.status;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.providerType !== undefined) this.providerType = init.providerType;
  }
}

/** The caller cancelled: not a failure, nothing to report. */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (err instanceof Error && err.name === 'AbortError');
}

/** Reads `retry-after-ms` / `retry-after` (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The code for an HTTP status the provider answered with. */
export function codeForStatus(status: number): LlmErrorCode {
  if (status === 401 || status === 403) return LlmErrorCode.Auth;
  if (status === 429) return LlmErrorCode.RateLimited;
  if (status === 408) return LlmErrorCode.Timeout;
  if (status >= 500) return LlmErrorCode.Unavailable;
  return LlmErrorCode.BadRequest;
}

/** The code for an error type reported in a body or an in-stream error event. */
export function codeForProviderType(type: string | undefined, fallback: LlmErrorCode): LlmErrorCode {
  switch (type) {
    // Anthropic's and OpenAI's types, then Google's statuses (Gemini).
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
    case 'RESOURCE_EXHAUSTED':
      return LlmErrorCode.RateLimited;
    case 'overloaded_error':
    case 'api_error':
    case 'server_error':
    case 'UNAVAILABLE':
    case 'INTERNAL':
      return LlmErrorCode.Unavailable;
    case 'authentication_error':
    case 'permission_error':
    case 'invalid_api_key':
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return LlmErrorCode.Auth;
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
    case 'INVALID_ARGUMENT':
    case 'NOT_FOUND':
    case 'FAILED_PRECONDITION':
      return LlmErrorCode.BadRequest;
    default:
      return fallback;
  }
}
