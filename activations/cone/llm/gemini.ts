import { LlmError, LlmErrorCode, codeForProviderType } from './errors.js';
import { parseEventJson } from './sse-request.js';
import { assertKey, requestServiceSse, ServiceProvider } from './service.js';
import type { LlmEvent, LlmRequest } from './types.js';

/** The API version in Gemini's paths. */
const API_VERSION = 'v1beta';

interface GeminiChunk {
  candidates?: { content?: { parts?: { text?: string; thought?: boolean }[] }; finishReason?: string }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number };
  promptFeedback?: { blockReason?: string };
  error?: { code?: number; message?: string; status?: string };
}

/**
 * Google's Gemini API in its own wire format: `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`
 * with the key in `x-goog-api-key`. Messages are `contents` of `user`/`model` turns, the
 * system prompt is `systemInstruction`, the limits are `generationConfig`. Each event is a
 * whole `GenerateContentResponse`; the one with a `finishReason` ends the answer.
 */
export class GeminiProvider extends ServiceProvider {
  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmEvent, void, undefined> {
    const { config } = this;
    assertKey(config);
    const headers: Record<string, string> = {};
    if (config.apiKey) headers['x-goog-api-key'] = config.apiKey.reveal();
    const generationConfig = {
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.maxTokens !== undefined ? { maxOutputTokens: request.maxTokens } : {}),
    };
    const body = {
      contents: request.messages.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })),
      ...(request.system ? { systemInstruction: { parts: [{ text: request.system }] } } : {}),
      ...(Object.keys(generationConfig).length > 0 ? { generationConfig } : {}),
    };
    // A model id may come as `models/gemini-…` (as Google lists them) or bare.
    const model = encodeURIComponent(request.model.replace(/^models\//, ''));
    const path = `/${API_VERSION}/models/${model}:streamGenerateContent?alt=sse`;
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let stopReason: string | undefined;
    const events = requestServiceSse(config, path, headers, body, signal);
    try {
      for await (const event of events) {
        if (stopReason !== undefined) continue;
        const chunk = parseEventJson<GeminiChunk>(config.name, event, config.apiKey);
        if (chunk.error) {
          const type = chunk.error.status;
          throw new LlmError(
            codeForProviderType(type, LlmErrorCode.StreamError),
            `${config.name} reported ${type ?? 'an error'} mid-stream: ${chunk.error.message ?? 'no message'}`,
            { phase: 'stream', ...(type ? { providerType: type } : {}) },
          );
        }
        if (chunk.promptFeedback?.blockReason && !chunk.candidates?.length) {
          throw new LlmError(LlmErrorCode.BadRequest, `${config.name} blocked the prompt (${chunk.promptFeedback.blockReason})`, {
            phase: 'stream',
            providerType: chunk.promptFeedback.blockReason,
          });
        }
        if (chunk.usageMetadata) {
          const u = chunk.usageMetadata;
          if (u.promptTokenCount !== undefined) inputTokens = u.promptTokenCount;
          // Thinking tokens are billed as output.
          if (u.candidatesTokenCount !== undefined || u.thoughtsTokenCount !== undefined)
            outputTokens = (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0);
        }
        const candidate = chunk.candidates?.[0];
        // Thought summaries are not part of the chat text.
        for (const part of candidate?.content?.parts ?? []) if (part.text && !part.thought) yield { type: 'content', text: part.text };
        if (candidate?.finishReason) stopReason = candidate.finishReason;
      }
    } catch (err) {
      // After the finishing event the text is whole; a late drop changes nothing.
      if (!(stopReason !== undefined && err instanceof LlmError)) throw err;
    }
    if (stopReason === undefined) {
      throw new LlmError(LlmErrorCode.StreamCut, `${config.name} ended the stream before a finishReason`, { phase: 'stream' });
    }
    const usage = {
      ...(inputTokens !== undefined ? { inputTokens } : {}),
      ...(outputTokens !== undefined ? { outputTokens } : {}),
    };
    yield { type: 'finish', stopReason, ...(Object.keys(usage).length > 0 ? { usage } : {}) };
  }
}
