import { LlmError, LlmErrorCode, codeForProviderType } from './errors.js';
import { parseEventJson } from './sse-request.js';
import { assertKey, requestServiceSse, ServiceProvider } from './service.js';
import type { LlmEvent, LlmRequest } from './types.js';

/** Anthropic requires `max_tokens`; the reference's model defaults use 4096. */
const DEFAULT_MAX_TOKENS = 4096;
const API_VERSION = '2023-06-01';

interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

interface AnthropicEvent {
  type?: string;
  message?: { usage?: AnthropicUsage };
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/** Prompt tokens as billed: cache reads and writes are input too. */
const inputOf = (u: AnthropicUsage) =>
  u.input_tokens === undefined ? undefined : u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);

/** The Messages API (`POST {base}/v1/messages`, `stream: true`). */
export class AnthropicProvider extends ServiceProvider {
  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmEvent, void, undefined> {
    const { config } = this;
    assertKey(config);
    const headers: Record<string, string> = { 'anthropic-version': API_VERSION };
    if (config.apiKey) headers['x-api-key'] = config.apiKey.reveal();
    const body = {
      model: request.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(request.system ? { system: request.system } : {}),
      max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      stream: true,
    };
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let stopReason: string | undefined;
    let stopped = false;
    const events = requestServiceSse(config, '/v1/messages', headers, body, signal);
    try {
      for await (const event of events) {
        if (stopped) continue;
        const data = parseEventJson<AnthropicEvent>(config.name, event, config.apiKey);
        switch (event.event ?? data.type) {
          case 'message_start':
            if (data.message?.usage) {
              inputTokens = inputOf(data.message.usage);
              outputTokens = data.message.usage.output_tokens;
            }
            break;
          case 'content_block_delta':
            // Thinking and tool-input deltas are not part of the chat text.
            if (data.delta?.type === 'text_delta' && data.delta.text) yield { type: 'content', text: data.delta.text };
            break;
          case 'message_delta':
            if (data.delta?.stop_reason) stopReason = data.delta.stop_reason;
            // Cumulative counts; newer API versions may restate input here.
            if (data.usage?.output_tokens !== undefined) outputTokens = data.usage.output_tokens;
            if (data.usage && inputOf(data.usage) !== undefined) inputTokens = inputOf(data.usage);
            break;
          case 'message_stop':
            stopped = true;
            break;
          case 'error': {
            const type = data.error?.type;
            throw new LlmError(
              codeForProviderType(type, LlmErrorCode.StreamError),
              `${config.name} reported ${type ?? 'an error'} mid-stream: ${data.error?.message ?? 'no message'}`,
              { phase: 'stream', ...(type ? { providerType: type } : {}) },
            );
          }
          default:
            break; // ping, content_block_start/stop and future event types
        }
      }
    } catch (err) {
      // After message_stop the answer is complete; a late hiccup on the idle connection changes nothing.
      if (!(stopped && err instanceof LlmError)) throw err;
    }
    if (!stopped) throw new LlmError(LlmErrorCode.StreamCut, `${config.name} ended the stream before message_stop`, { phase: 'stream' });
    const usage = {
      ...(inputTokens !== undefined ? { inputTokens } : {}),
      ...(outputTokens !== undefined ? { outputTokens } : {}),
    };
    yield { type: 'finish', ...(stopReason ? { stopReason } : {}), ...(Object.keys(usage).length > 0 ? { usage } : {}) };
  }
}
