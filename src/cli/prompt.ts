import { createInterface, type Interface } from 'node:readline';
import type { JsonSchema } from '../activation/types.js';
import { CANCELLED, type ClientRequest } from '../client/plexus-client.js';

/**
 * Answers a method's mid-stream questions (`request` items) on the terminal for
 * `hub call`: the prompt goes to stderr, the answer is read from stdin (a TTY or a
 * pipe, one line per question) and parsed by the question's schema. End of input,
 * or an answer that cannot be parsed, declines the request.
 */
export class TerminalPrompter {
  #lines?: AsyncIterator<string>;
  #rl?: Interface;

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stderr,
  ) {}

  readonly answer = async (request: ClientRequest): Promise<unknown> => {
    const { prompt, schema } = (request.data ?? {}) as { prompt?: unknown; schema?: JsonSchema };
    const question = typeof prompt === 'string' ? prompt : JSON.stringify(request.data);
    for (let attempt = 1; ; attempt++) {
      this.output.write(`? ${question} ${hint(schema)}`);
      const text = await this.#line();
      if (text === undefined) {
        this.output.write('\n(no answer: declined)\n');
        return CANCELLED;
      }
      if (!(this.input as { isTTY?: boolean }).isTTY) this.output.write(`${text}\n`);
      const parsed = parseAnswer(text, schema);
      if (parsed !== undefined) return parsed;
      if (attempt === MAX_ATTEMPTS) {
        this.output.write(`(cannot read "${text}" as ${expected(schema)}: declined)\n`);
        return CANCELLED;
      }
      this.output.write(`(expected ${expected(schema)})\n`);
    }
  };

  async #line(): Promise<string | undefined> {
    if (!this.#lines) {
      this.#rl = createInterface({ input: this.input, terminal: false });
      this.#lines = this.#rl[Symbol.asyncIterator]();
    }
    const next = await this.#lines.next();
    return next.done ? undefined : next.value.trim();
  }

  close(): void {
    this.#rl?.close();
  }
}

/** Tries per question before an unreadable answer declines it. */
const MAX_ATTEMPTS = 3;

function expected(schema: JsonSchema | undefined): string {
  if (Array.isArray(schema?.enum)) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (schema?.type === 'boolean') return 'y or n';
  if (schema?.type === 'number' || schema?.type === 'integer') return 'a number';
  return 'JSON';
}

function hint(schema: JsonSchema | undefined): string {
  if (!schema) return '(JSON) ';
  if (Array.isArray(schema.enum)) return `(${schema.enum.map(String).join('/')}) `;
  switch (schema.type) {
    case 'boolean':
      return '(y/n) ';
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return '(number) ';
    default:
      return '(JSON) ';
  }
}

/** An answer typed by the schema: y/n for booleans, numbers, plain text for strings, else JSON. */
export function parseAnswer(text: string, schema: JsonSchema | undefined): unknown {
  if (!text && schema && 'default' in schema) return schema.default;
  const value = parseTyped(text, schema);
  const allowed = schema?.enum;
  // An enum is checked here, so a typo is asked again rather than refused by the server.
  if (Array.isArray(allowed) && !allowed.some((v) => JSON.stringify(v) === JSON.stringify(value))) return undefined;
  return value;
}

function parseTyped(text: string, schema: JsonSchema | undefined): unknown {
  switch (schema?.type) {
    case 'boolean':
      if (/^(y|yes|true)$/i.test(text)) return true;
      if (/^(n|no|false)$/i.test(text)) return false;
      return undefined;
    case 'string':
      return text;
    case 'number':
    case 'integer': {
      const n = Number(text);
      return text && Number.isFinite(n) ? n : undefined;
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    return Array.isArray(schema?.enum) ? text : undefined;
  }
}
