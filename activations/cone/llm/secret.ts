import { inspect } from 'node:util';

/**
 * An API key that cannot leak by accident: it prints, inspects and serializes as
 * `[redacted]`; only `reveal()` (called where the HTTP header is built) gives the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

/** Key-shaped tokens (OpenAI/Anthropic/OpenRouter style), also the partly masked ones providers echo in 401 messages. */
const KEY_LIKE = /\b(?:sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g;

/** Removes the key, and anything shaped like a key, from text that may reach a client or a log. */
export function redact(text: string, secret?: Secret): string {
  let out = text;
  const key = secret?.reveal();
  if (key && key.length >= 4) out = out.split(key).join('[redacted]');
  return out.replace(KEY_LIKE, '[redacted]');
}
