import { type StopMark, stopAs } from '../../../src/index.js';

/**
 * How a provider's finish reason reads as a turn's stop: an answer cut by the token
 * limit is `limited`, one the model or its filter declined is `refused` (codes as the
 * reference's agent turns name them, ACP's). A normal end, or a reason we do not know,
 * leaves the turn `complete`.
 */
const STOPS: Readonly<Record<string, { kind: StopMark['kind']; code: string }>> = {
  max_tokens: { kind: 'limited', code: 'acp:max_tokens' }, // Anthropic
  length: { kind: 'limited', code: 'acp:max_tokens' }, // OpenAI and compatibles
  MAX_TOKENS: { kind: 'limited', code: 'acp:max_tokens' }, // Gemini
  refusal: { kind: 'refused', code: 'acp:refusal' }, // Anthropic
  content_filter: { kind: 'refused', code: 'acp:refusal' }, // OpenAI, Azure
  SAFETY: { kind: 'refused', code: 'acp:refusal' }, // Gemini
  PROHIBITED_CONTENT: { kind: 'refused', code: 'acp:refusal' },
  BLOCKLIST: { kind: 'refused', code: 'acp:refusal' },
  SPII: { kind: 'refused', code: 'acp:refusal' },
  RECITATION: { kind: 'refused', code: 'acp:refusal' },
};

export function stopForFinish(service: string, reason: string | undefined): StopMark | undefined {
  const stop = reason === undefined ? undefined : STOPS[reason];
  return stop && stopAs(stop.kind, { code: stop.code, message: `${service} stopped: ${reason}`, data: { finish_reason: reason! } });
}
