/** The provider-neutral shape of one chat turn and of what streams back. */

export interface LlmMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

export interface LlmRequest {
  /** The provider's model name (after any `<service>:` prefix was removed). */
  readonly model: string;
  /** Instructions outside the message list (Anthropic `system`, OpenAI a leading system message). */
  readonly system?: string;
  readonly messages: readonly LlmMessage[];
  readonly maxTokens?: number;
  readonly temperature?: number;
}

export interface LlmUsage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

export type LlmEvent =
  /** One text chunk, as it arrived. */
  | { readonly type: 'content'; readonly text: string }
  /** The answer ended normally (always the last event of a complete stream). */
  | { readonly type: 'finish'; readonly stopReason?: string; readonly usage?: LlmUsage };

/**
 * One service speaking one wire format. `stream` yields content chunks as they
 * arrive and ends with `finish`; any failure is thrown as an `LlmError` (an
 * abort of `signal` is thrown as the platform's `AbortError` and closes the HTTP
 * request).
 */
export interface LlmProvider {
  readonly service: string;
  stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmEvent, void, undefined>;
}
