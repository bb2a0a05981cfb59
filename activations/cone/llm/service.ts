import { LlmError, LlmErrorCode } from './errors.js';
import type { Secret } from './secret.js';

/** The two HTTP dialects spoken; every OpenAI-compatible server uses `openai`. */
export type WireFormat = 'anthropic' | 'openai';

/** Where and how to reach one LLM service. Holds the key only as a `Secret`. */
export interface ServiceConfig {
  readonly name: string;
  readonly format: WireFormat;
  /** Anthropic: without `/v1` (as `ANTHROPIC_BASE_URL`); OpenAI: with it (as `OPENAI_BASE_URL`). */
  readonly baseUrl: string;
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

/** Fails before any request when a key is needed and missing, naming the env var to set. */
export function assertKey(config: ServiceConfig): void {
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
