import { LlmError, LlmErrorCode, codeForProviderType } from './errors.js';
import { parseEventJson } from './sse-request.js';
import { assertKey, requestServiceSse, type ServiceConfig } from './service.js';
import type { LlmEvent, LlmProvider, LlmRequest } from './types.js';

interface OpenAiChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string; type?: string; code?: string | number };
}

/** The Chat Completions API (`POST {base}/chat/completions`, `stream: true`); also OpenAI-compatible servers. */
export class OpenAiProvider implements LlmProvider {
  constructor(readonly config: ServiceConfig) {}

  get service(): string {
    return this.config.name;
  }

  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmEvent, void, undefined> {
    const { config } = this;
    assertKey(config);
    const headers: Record<string, string> = {};
    if (config.apiKey) headers.authorization = `Bearer ${config.apiKey.reveal()}`;
    const body = {
      model: request.model,
      messages: [
        ...(request.system ? [{ role: 'system', content: request.system }] : []),
        ...request.messages.map((m) => ({ role: m.role, content: m.content })),
      ],
      ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      stream: true,
      ...(config.includeUsage ? { stream_options: { include_usage: true } } : {}),
    };
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let stopReason: string | undefined;
    /** `[DONE]` seen: nothing more will come. */
    let done = false;
    const events = requestServiceSse(config, '/chat/completions', headers, body, signal);
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
