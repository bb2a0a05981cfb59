import { LlmError, LlmErrorCode } from './errors.js';
import type { Secret } from './secret.js';
import { requestSse } from './sse-request.js';
import type { LlmEvent, LlmProvider, LlmRequest } from './types.js';

/**
 * The HTTP dialects spoken: every OpenAI-compatible server uses `openai`; `azure` is
 * OpenAI's body and stream at Azure's URL (deployment, `api-version`) with an `api-key`
 * header; `gemini` is Google's generateContent API.
 */
export type WireFormat = 'anthropic' | 'openai' | 'azure' | 'gemini';
export const WIRE_FORMATS: readonly WireFormat[] = ['anthropic', 'openai', 'azure', 'gemini'];

/** Where and how to reach one LLM service. Holds the key only as a `Secret`. */
export interface ServiceConfig {
  readonly name: string;
  readonly format: WireFormat;
  /**
   * Anthropic and Gemini: without the version (as `ANTHROPIC_BASE_URL`); OpenAI: with `/v1`
   * (as `OPENAI_BASE_URL`); Azure: the resource endpoint (`https://<resource>.openai.azure.com`).
   * Empty when a service has no public URL and none was given.
   */
  readonly baseUrl: string;
  /** The env var the base URL is read from, named when it is missing. */
  readonly baseUrlEnv?: string;
  /** Azure: the `api-version` query parameter. */
  readonly apiVersion?: string;
  readonly apiKey?: Secret;
  /** The env var the key is read from, named in "not configured" errors. */
  readonly apiKeyEnv?: string;
  /** A service at its public default URL needs a key; a self-hosted one (base URL overridden) may not. */
  readonly keyRequired: boolean;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** OpenAI format: ask for `stream_options.include_usage` (some old compatible servers reject it). */
  readonly includeUsage: boolean;
}

/** Fails before any request when the URL or a needed key is missing, naming the env var to set. */
export function assertKey(config: ServiceConfig): void {
  if (!config.baseUrl) {
    throw new LlmError(
      LlmErrorCode.NotConfigured,
      `no endpoint for ${config.name}: set ${config.baseUrlEnv ?? 'its base URL'} (or base_url in the LLM config file)`,
      { phase: 'start' },
    );
  }
  if (config.keyRequired && !config.apiKey) {
    throw new LlmError(
      LlmErrorCode.NotConfigured,
      `no API key for ${config.name}: set ${config.apiKeyEnv ?? 'its key'} (or api_key in the LLM config file)`,
      {
        phase: 'start',
      },
    );
  }
}

/**
 * POSTs `body` to `path` under the service's base URL and yields the server-sent
 * events: the one place a provider's request gets the service's timeouts, and its
 * key to scrub from error text.
 */
export function requestServiceSse(
  config: ServiceConfig,
  path: string,
  headers: Readonly<Record<string, string>>,
  body: unknown,
  signal?: AbortSignal,
): ReturnType<typeof requestSse> {
  return requestSse({
    service: config.name,
    url: `${config.baseUrl.replace(/\/+$/, '')}${path}`,
    headers,
    body,
    ...(config.apiKey ? { secret: config.apiKey } : {}),
    requestTimeoutMs: config.requestTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    ...(signal ? { signal } : {}),
  });
}

/** What the provider of every configured service shares: its configuration, named by it. */
export abstract class ServiceProvider implements LlmProvider {
  constructor(readonly config: ServiceConfig) {}

  get service(): string {
    return this.config.name;
  }

  abstract stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmEvent, void, undefined>;
}
