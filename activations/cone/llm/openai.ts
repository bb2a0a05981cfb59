import { LlmError, LlmErrorCode, codeForProviderType } from './errors.js';
import { parseEventJson } from './sse-request.js';
import { assertKey, requestServiceSse, ServiceProvider } from './service.js';
import type { LlmEvent, LlmRequest } from './types.js';

interface OpenAiChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string; type?: string; code?: string | number };
}

/** The `api-version` Azure OpenAI is called with unless configured (the reference's). */
export const AZURE_API_VERSION = '2024-02-15-preview';

/** OpenAI model ids that take `max_completion_tokens` (o1, o3, o4-mini, gpt-5…). */
const REASONING_MODEL = /^(o\d|gpt-5)/;

/**
 * The Chat Completions API (`POST {base}/chat/completions`, `stream: true`); also
 * OpenAI-compatible servers, and Azure OpenAI (`format: "azure"`).
 */
export class OpenAiProvider extends ServiceProvider {
  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmEvent, void, undefined> {
    const { config } = this;
    assertKey(config);
    const azure = config.format === 'azure';
    const headers: Record<string, string> = {};
    if (config.apiKey) {
      if (azure) headers['api-key'] = config.apiKey.reveal();
      else headers.authorization = `Bearer ${config.apiKey.reveal()}`;
    }
    // OpenAI's reasoning models refuse `max_tokens`; compatible servers may not know its successor.
    const tokensField = config.name === 'openai' && REASONING_MODEL.test(request.model) ? 'max_completion_tokens' : 'max_tokens';
    const body = {
      model: request.model,
      messages: [
        ...(request.system ? [{ role: 'system', content: request.system }] : []),
        ...request.messages.map((m) => ({ role: m.role, content: m.content })),
      ],
      ...(request.maxTokens !== undefined ? { [tokensField]: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      stream: true,
      ...(config.includeUsage ? { stream_options: { include_usage: true } } : {}),
    };
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let stopReason: string | undefined;
    /** `[DONE]` seen: nothing more will come. */
    let done = false;
    // Azure addresses a deployment (the model name of an `azure:<deployment>` id) and an API version.
    const path = azure
      ? `/openai/deployments/${encodeURIComponent(request.model)}/chat/completions?api-version=${encodeURIComponent(config.apiVersion ?? AZURE_API_VERSION)}`
      : '/chat/completions';
    const events = requestServiceSse(config, path, headers, body, signal);
    try {
      for await (const event of events) {
        if (done) continue;
        if (event.data.trim() === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = parseEventJson<OpenAiChunk>(config.name, event, config.apiKey);
        if (chunk.error) {
          const type = chunk.error.type ?? (typeof chunk.error.code === 'string' ? chunk.error.code : undefined);
          throw new LlmError(
            codeForProviderType(type, LlmErrorCode.StreamError),
            `${config.name} reported ${type ?? 'an error'} mid-stream: ${chunk.error.message ?? 'no message'}`,
            { phase: 'stream', ...(type ? { providerType: type } : {}) },
          );
        }
        for (const choice of chunk.choices ?? []) {
          if (choice.delta?.content) yield { type: 'content', text: choice.delta.content };
          if (choice.finish_reason) stopReason = choice.finish_reason;
        }
        if (chunk.usage) {
          if (chunk.usage.prompt_tokens !== undefined) inputTokens = chunk.usage.prompt_tokens;
          if (chunk.usage.completion_tokens !== undefined) outputTokens = chunk.usage.completion_tokens;
        }
      }
    } catch (err) {
      // After [DONE] or a finish_reason the text is whole; a late drop only loses the usage chunk.
      if (!((done || stopReason !== undefined) && err instanceof LlmError)) throw err;
    }
    // Some compatible servers omit `[DONE]`; a finish_reason still marks a whole answer.
    if (!done && stopReason === undefined) {
      throw new LlmError(LlmErrorCode.StreamCut, `${config.name} ended the stream before finish_reason or [DONE]`, { phase: 'stream' });
    }
    const usage = {
      ...(inputTokens !== undefined ? { inputTokens } : {}),
      ...(outputTokens !== undefined ? { outputTokens } : {}),
    };
    yield { type: 'finish', ...(stopReason ? { stopReason } : {}), ...(Object.keys(usage).length > 0 ? { usage } : {}) };
  }
}
