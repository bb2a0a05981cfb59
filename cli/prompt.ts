import { createInterface, type Interface } from 'node:readline';
import { CANCELLED_ANSWER, type ClientRequest, type JsonSchema } from '../src/index.js';

/**
 * Answers a method's mid-stream questions (`request` items) on the terminal for
 * `hub call`: the prompt goes to stderr, the answer is read from stdin (a TTY or a
 * pipe, one line per question) and parsed by the question's schema. End of input,
 * or an answer that cannot be parsed, declines the request. When the question ends
 * first (its timeout, the call ending or cancelled: `request.signal`), the prompt ends
 * with a line saying so; a line typed after that is reported as ignored, never taken
 * as the answer to a later question.
 */
export class TerminalPrompter {
  #lines?: AsyncIterator<string>;
  #rl?: Interface;
  /** The read waiting for the next line, kept across a question that ended before it came. */
  #pending?: Promise<IteratorResult<string>>;
  #asking = false;

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stderr,
  ) {}

  readonly answer = async (request: ClientRequest): Promise<unknown> => {
    const { question, schema, choices, wrap } = questionOf(request.data);
    const { signal } = request;
    const menu = choices
      ? `\n${choices.map((c, i) => `  ${i + 1}) ${c.label}${c.description ? ` — ${c.description}` : ''}`).join('\n')}\n`
      : ' ';
    for (let attempt = 1; ; attempt++) {
      this.output.write(`? ${question}${menu}${choices ? `(${choices.multi ? 'numbers, comma-separated' : 'a number'}) ` : hint(schema)}`);
      const text = await this.#line(signal);
      if (text === ENDED) {
        this.output.write(`\n(no answer: ${(signal?.reason as Error | undefined)?.message ?? 'the question ended'})\n`);
        return CANCELLED_ANSWER;
      }
      if (text === undefined) {
        this.output.write('\n(no answer: declined)\n');
        return CANCELLED_ANSWER;
      }
      if (!(this.input as { isTTY?: boolean }).isTTY) this.output.write(`${text}\n`);
      const parsed = choices ? parseChoice(text, choices) : parseAnswer(text, schema);
      if (parsed !== undefined) return wrap(parsed);
      const wanted = choices ? `1 to ${choices.length}` : expected(schema);
      if (attempt === MAX_ATTEMPTS) {
        this.output.write(`(cannot read "${text}" as ${wanted}: declined)\n`);
        return CANCELLED_ANSWER;
      }
      this.output.write(`(expected ${wanted})\n`);
    }
  };

  /**
   * The next line (trimmed), undefined at end of input, or ENDED when `signal` aborts
   * first. A read left waiting by an ended question is taken over by the next question
   * (its prompt is on the screen when the line is typed); a line that comes while no
   * question is asked is reported as ignored.
   */
  async #line(signal?: AbortSignal): Promise<string | undefined | typeof ENDED> {
    if (!this.#lines) {
      this.#rl = createInterface({ input: this.input, terminal: false });
      this.#lines = this.#rl[Symbol.asyncIterator]();
    }
    if (signal?.aborted) return ENDED;
    const read = (this.#pending ??= this.#lines.next());
    this.#asking = true;
    const ended = new Promise<typeof ENDED>((resolve) => signal?.addEventListener('abort', () => resolve(ENDED), { once: true }));
    const next = await Promise.race([read, ended]);
    this.#asking = false;
    if (next === ENDED) {
      void read.then((late) => {
        if (this.#pending !== read || this.#asking) return; // a newer question took it
        this.#pending = undefined;
        if (!late.done) this.output.write(`(ignored "${late.value.trim()}": its question had ended)\n`);
      });
      return ENDED;
    }
    this.#pending = undefined;
    return next.done ? undefined : next.value.trim();
  }

  close(): void {
    this.#rl?.close();
  }
}

/** `#line`'s answer when the question ended before a line came. */
const ENDED = Symbol('ended');

interface Choices extends Array<{ value: unknown; label: string; description?: string }> {
  multi?: boolean;
}

/**
 * What to ask and how to answer: our `{ prompt, schema }` (the answer as is), or one of
 * the reference's standard payloads (spec'd in its bidirectional module): `confirm` →
 * `{"type":"confirmed","value"}`, `prompt` → `{"type":"text","value"}`, `select` →
 * `{"type":"selected","values"}`, `custom` → `{"type":"custom","data"}`.
 */
export function questionOf(data: unknown): {
  question: string;
  schema?: JsonSchema;
  choices?: Choices;
  wrap: (answer: unknown) => unknown;
} {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const withDefault = (schema: JsonSchema): JsonSchema => ('default' in d ? { ...schema, default: d.default } : schema);
  const message = typeof d.message === 'string' ? d.message : JSON.stringify(data);
  switch (d.type) {
    case 'confirm':
      return { question: message, schema: withDefault({ type: 'boolean' }), wrap: (value) => ({ type: 'confirmed', value }) };
    case 'prompt':
      return { question: message, schema: withDefault({ type: 'string' }), wrap: (value) => ({ type: 'text', value }) };
    case 'select': {
      const options = Array.isArray(d.options) ? (d.options as { value?: unknown; label?: unknown; description?: unknown }[]) : [];
      const choices: Choices = options.map((o) => ({
        value: o.value,
        label: String(o.label ?? JSON.stringify(o.value)),
        ...(typeof o.description === 'string' ? { description: o.description } : {}),
      }));
      choices.multi = d.multi_select === true;
      return { question: message, choices, wrap: (values) => ({ type: 'selected', values }) };
    }
    case 'custom':
      return { question: JSON.stringify(d.data), wrap: (answer) => ({ type: 'custom', data: answer }) };
  }
  const question = typeof d.prompt === 'string' ? d.prompt : JSON.stringify(data);
  return { question, ...(d.schema && typeof d.schema === 'object' ? { schema: d.schema as JsonSchema } : {}), wrap: (answer) => answer };
}

/** `2` or `1,3` → the chosen values (always a list), or undefined when out of range. */
function parseChoice(text: string, choices: Choices): unknown[] | undefined {
  const picks = text.split(',').map((t) => Number(t.trim()));
  if (!picks.length || (!choices.multi && picks.length > 1)) return undefined;
  if (!picks.every((n) => Number.isInteger(n) && n >= 1 && n <= choices.length)) return undefined;
  return picks.map((n) => choices[n - 1]!.value);
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
