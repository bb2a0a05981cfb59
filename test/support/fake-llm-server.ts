// A fake LLM provider for tests, benchmarks and offline demos: real HTTP on
// loopback, speaking the Anthropic Messages, OpenAI Chat Completions (also at Azure
// OpenAI's deployment URL) and Google Gemini streamGenerateContent wire formats,
// with every failure a client must survive on demand.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeFormat = 'anthropic' | 'openai' | 'gemini';

/** How one request is answered. */
export interface FakeReply {
  /** Answer text chunks, one SSE event each. Default: `You said: <last user message>`, word by word. */
  chunks?: string[];
  /** Token counts to report; `null` reports none. Default: derived from the text. */
  usage?: { input: number; output: number } | null;
  /** Pause before each chunk. */
  delayMs?: number;
  /** Answer with this HTTP status and an error body in the format's shape instead of a stream. */
  status?: number;
  /** The error body's `type` (default from the status, e.g. `rate_limit_error`). */
  errorType?: string;
  /** The error body's message. */
  errorMessage?: string;
  /** A raw body instead of the format's error JSON. */
  rawBody?: string;
  /** Extra response headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
  /** Content type of a 200 answer (default `text/event-stream`). */
  contentType?: string;
  /** Never answer: no status line, no headers. */
  hangBeforeHeaders?: boolean;
  /** What happens after `after` chunks (default: all of them). */
  then?:
    | 'complete'
    /** Close the connection without finishing the chunked body (the client sees the body terminate). */
    | 'cut'
    /** End the body cleanly but without the format's end-of-answer marker. */
    | 'end_early'
    /** A line that is not SSE. */
    | 'bad_line'
    /** An event whose data is not JSON. */
    | 'bad_json'
    /** The provider's own in-stream error event. */
    | 'error_event'
    /** Send nothing more and keep the connection open until the client closes it. */
    | 'hang';
  after?: number;
  /** With `then: 'complete'`: after `after` chunks, wait for this before sending the rest. */
  gate?: Promise<void>;
  /** The finish reason the answer ends with, in the format's own words (default: its normal end). */
  finish?: string;
}

export interface FakeRequest {
  readonly format: FakeFormat;
  readonly path: string;
  /** The query string's parameters (Azure's `api-version`, Gemini's `alt`). */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
  /** True when the client closed the connection before the answer was complete. */
  clientClosed: boolean;
  /** Chunks written before the answer ended or the client left. */
  chunksSent: number;
  /** Settles when the response ended or the connection closed. */
  readonly settled: Promise<void>;
}

export interface FakeLlmServerOptions {
  /** When set, requests must carry this key (`x-api-key`, `Authorization: Bearer`, Azure's `api-key` or Gemini's `x-goog-api-key`), else 401. */
  apiKey?: string;
  /** Default reply when none is queued. */
  reply?: FakeReply;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for a request's connection to end, at most `ms`: true when it ended. Tests use
 * it instead of awaiting `settled`, so a client that never closes fails instead of hanging.
 */
export async function settledWithin(request: FakeRequest, ms = 3000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  const ended = await Promise.race([request.settled.then(() => true), late]);
  clearTimeout(timer);
  return ended;
}

/** Error `type` (and OpenAI's `code`) per status, as the real services send them. */
const STATUS_TYPES: Record<FakeFormat, Record<number, [type: string, code?: string]>> = {
  anthropic: {
    400: ['invalid_request_error'],
    401: ['authentication_error'],
    403: ['permission_error'],
    404: ['not_found_error'],
    413: ['request_too_large'],
    429: ['rate_limit_error'],
    500: ['api_error'],
    529: ['overloaded_error'],
  },
  openai: {
    400: ['invalid_request_error'],
    401: ['invalid_request_error', 'invalid_api_key'],
    403: ['invalid_request_error', 'unsupported_country_region_territory'],
    404: ['invalid_request_error', 'model_not_found'],
    429: ['requests', 'rate_limit_exceeded'],
    500: ['server_error'],
    503: ['server_error'],
  },
  // Google's canonical statuses.
  gemini: {
    400: ['INVALID_ARGUMENT'],
    401: ['UNAUTHENTICATED'],
    403: ['PERMISSION_DENIED'],
    404: ['NOT_FOUND'],
    429: ['RESOURCE_EXHAUSTED'],
    500: ['INTERNAL'],
    503: ['UNAVAILABLE'],
  },
};

function lastUserText(format: FakeFormat, body: Record<string, unknown>): string {
  if (format === 'gemini') {
    const contents = Array.isArray(body.contents) ? (body.contents as { role?: string; parts?: { text?: unknown }[] }[]) : [];
    const text = [...contents].reverse().find((c) => c.role === 'user')?.parts?.[0]?.text;
    return typeof text === 'string' ? text : '';
  }
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

function defaultChunks(text: string): string[] {
  const answer = `You said: ${text}`;
  return answer.split(/(?<= )/);
}

/** SSE framing of one event. */
const sse = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

/** The events of one answer in a wire format: before the text, per chunk, after, and an in-stream error. */
function dialect(
  format: FakeFormat,
  model: string,
  usage: { input: number; output: number } | null,
  includeUsage: boolean,
  finish?: string,
) {
  if (format === 'anthropic') {
    return {
      head: [
        sse(
          {
            type: 'message_start',
            message: {
              id: 'msg_fake',
              type: 'message',
              role: 'assistant',
              model,
              content: [],
              stop_reason: null,
              usage: { input_tokens: usage?.input ?? 0, output_tokens: 1 },
            },
          },
          'message_start',
        ),
        sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
        sse({ type: 'ping' }, 'ping'),
      ],
      chunk: (text: string) => sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta'),
      tail: [
        sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
        sse(
          {
            type: 'message_delta',
            delta: { stop_reason: finish ?? 'end_turn', stop_sequence: null },
            usage: { output_tokens: usage?.output ?? 0 },
          },
          'message_delta',
        ),
        sse({ type: 'message_stop' }, 'message_stop'),
      ],
      error: sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
    };
  }
  if (format === 'gemini') {
    // Every event is a whole GenerateContentResponse; the last carries finishReason and usage. No [DONE].
    const response = (parts: { text: string }[], extra: Record<string, unknown> = {}) =>
      sse({ candidates: [{ content: { parts, role: 'model' }, index: 0, ...extra }], modelVersion: model });
    return {
      head: [],
      chunk: (text: string) => response([{ text }]),
      tail: [
        sse({
          candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: finish ?? 'STOP', index: 0 }],
          ...(usage
            ? {
                usageMetadata: {
                  promptTokenCount: usage.input,
                  candidatesTokenCount: usage.output,
                  totalTokenCount: usage.input + usage.output,
                },
              }
            : {}),
          modelVersion: model,
        }),
      ],
      error: sse({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }),
    };
  }
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_800_000_000, model };
  return {
    head: [sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })],
    chunk: (text: string) => sse({ ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] }),
    tail: [
      sse({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish ?? 'stop' }] }),
      ...(includeUsage && usage
        ? [
            sse({
              ...base,
              choices: [],
              usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
            }),
          ]
        : []),
      sse('[DONE]'),
    ],
    error: sse({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } }),
  };
}

/** OpenAI echoes a masked key in its 401 message; so does the fake, to prove clients scrub it. */
const masked = (key: string) => `${key.slice(0, 8)}****${key.slice(-4)}`;

export class FakeLlmServer {
  readonly requests: FakeRequest[] = [];
  readonly #queue: FakeReply[] = [];
  readonly #server: Server;
  readonly #options: FakeLlmServerOptions;
  #waiters: (() => void)[] = [];
  url = '';

  private constructor(options: FakeLlmServerOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: FakeLlmServerOptions = {}, port = 0): Promise<FakeLlmServer> {
    const fake = new FakeLlmServer(options);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(port, '127.0.0.1', () => resolve());
    });
    fake.url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Base URL for the Anthropic dialect (`ANTHROPIC_BASE_URL` style, no `/v1`). */
  get anthropicBaseUrl(): string {
    return this.url;
  }

  /** Base URL for the OpenAI dialect (`OPENAI_BASE_URL` style, with `/v1`). */
  get openaiBaseUrl(): string {
    return `${this.url}/v1`;
  }

  /** Base URL for Gemini (`GEMINI_BASE_URL` style, no version). */
  get geminiBaseUrl(): string {
    return this.url;
  }

  /** Endpoint of an Azure OpenAI resource (`AZURE_OPENAI_ENDPOINT` style). */
  get azureEndpoint(): string {
    return this.url;
  }

  /** Answers the next requests with these replies, in order. */
  enqueue(...replies: FakeReply[]): this {
    this.#queue.push(...replies);
    return this;
  }

  /** Resolves once `count` requests have arrived. */
  async waitForRequests(count: number): Promise<FakeRequest> {
    while (this.requests.length < count) await new Promise<void>((r) => this.#waiters.push(r));
    return this.requests[count - 1]!;
  }

  get last(): FakeRequest | undefined {
    return this.requests.at(-1);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const azure = /^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(path);
    const format: FakeFormat | undefined =
      path === '/v1/messages'
        ? 'anthropic'
        : path === '/v1/chat/completions' || azure
          ? 'openai'
          : /^\/v1beta\/models\/[^/:]+:streamGenerateContent$/.test(path)
            ? 'gemini'
            : undefined;
    const raw: Buffer[] = [];
    for await (const part of req) raw.push(part as Buffer);
    if (req.method !== 'POST' || !format) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: 'not_found' } }));
      return;
    }
    // What the real services refuse: Azure without an api-version, Gemini streaming without SSE framing.
    if ((azure && !query['api-version']) || (format === 'gemini' && query.alt !== 'sse')) {
      const message = azure ? 'Missing required query parameter: api-version' : 'this fake streams only with alt=sse';
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: 'invalid_request_error' } }));
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(raw).toString('utf8')) as Record<string, unknown>;
    } catch {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'body is not JSON', type: 'invalid_request_error' } }));
      return;
    }
    let settle!: () => void;
    const record: FakeRequest = {
      format,
      path,
      query,
      headers: req.headers,
      body,
      clientClosed: false,
      chunksSent: 0,
      settled: new Promise<void>((r) => (settle = r)),
    };
    res.on('close', () => {
      if (!res.writableFinished) record.clientClosed = true;
      settle();
    });
    res.on('finish', () => settle());
    this.requests.push(record);
    for (const w of this.#waiters.splice(0)) w();

    const reply = this.#queue.shift() ?? this.#options.reply ?? {};
    const key = this.#options.apiKey;
    if (key) {
      const given =
        format === 'anthropic'
          ? req.headers['x-api-key']
          : format === 'gemini'
            ? req.headers['x-goog-api-key']
            : azure
              ? req.headers['api-key']
              : req.headers.authorization?.replace(/^Bearer /, '');
      if (given !== key)
        return this.#error(res, format, { status: 401, errorMessage: `Incorrect API key provided: ${masked(String(given ?? ''))}` });
    }
    if (reply.hangBeforeHeaders) return; // the socket stays open until the client gives up
    if (reply.status !== undefined) return this.#error(res, format, reply);
    await this.#stream(res, record, format, body, reply);
  }

  #error(res: ServerResponse, format: FakeFormat, reply: FakeReply): void {
    const status = reply.status ?? 500;
    const [type, code] = reply.errorType
      ? [reply.errorType]
      : (STATUS_TYPES[format][status] ?? [status < 500 ? 'invalid_request_error' : 'api_error']);
    const message = reply.errorMessage ?? `fake ${status}`;
    const body =
      reply.rawBody ??
      JSON.stringify(
        format === 'anthropic'
          ? { type: 'error', error: { type, message } }
          : format === 'gemini'
            ? { error: { code: status, message, status: type } }
            : { error: { message, type, param: null, code: code ?? null } },
      );
    res.writeHead(status, { 'content-type': reply.rawBody ? 'text/plain' : 'application/json', ...reply.headers }).end(body);
  }

  async #stream(
    res: ServerResponse,
    record: FakeRequest,
    format: FakeFormat,
    body: Record<string, unknown>,
    reply: FakeReply,
  ): Promise<void> {
    const chunks = reply.chunks ?? defaultChunks(lastUserText(format, body));
    const text = chunks.join('');
    const usage =
      reply.usage === null
        ? null
        : (reply.usage ?? {
            input: Math.ceil(JSON.stringify(body.messages ?? body.contents ?? []).length / 4),
            output: Math.max(1, Math.ceil(text.length / 4)),
          });
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const d = dialect(format, String(body.model ?? ''), usage, includeUsage, reply.finish);
    res.writeHead(200, { 'content-type': reply.contentType ?? 'text/event-stream', 'cache-control': 'no-cache', ...reply.headers });
    res.flushHeaders();
    const alive = () => !res.destroyed && !record.clientClosed;
    for (const e of d.head) res.write(e);
    const then = reply.then ?? 'complete';
    const after = Math.min(reply.after ?? chunks.length, chunks.length);
    for (let i = 0; i < after; i++) {
      if (reply.delayMs) await sleep(reply.delayMs);
      if (!alive()) return;
      res.write(d.chunk(chunks[i]!));
      record.chunksSent++;
    }
    if (!alive()) return;
    switch (then) {
      case 'complete':
        if (reply.gate) {
          await reply.gate;
          for (const c of chunks.slice(after)) {
            if (!alive()) return;
            res.write(d.chunk(c));
            record.chunksSent++;
          }
        }
        for (const e of d.tail) res.write(e);
        res.end();
        return;
      case 'cut':
        // Flush what was written, then drop the connection without finishing the chunked body.
        res.socket?.end();
        return;
      case 'end_early':
        res.end();
        return;
      case 'bad_line':
        res.write('this line is not server-sent events\n\n');
        return; // stays open: the client must notice on its own
      case 'bad_json':
        res.write('data: {"choices": [{"delta": {"content": "unterminated\n\n');
        return;
      case 'error_event':
        res.write(d.error);
        res.end();
        return;
      case 'hang':
        return;
    }
  }
}

// `node --import tsx test/support/fake-llm-server.ts [port]`: a fake provider for demos.
if (import.meta.url === `file://${process.argv[1]}`) {
  const fake = await FakeLlmServer.start({ reply: { delayMs: Number(process.env.FAKE_LLM_DELAY_MS ?? 40) } }, Number(process.argv[2] ?? 0));
  process.stdout.write(
    `fake LLM provider on ${fake.url} (Anthropic: ANTHROPIC_BASE_URL=${fake.anthropicBaseUrl}, OpenAI: OPENAI_BASE_URL=${fake.openaiBaseUrl}, Gemini: GEMINI_BASE_URL=${fake.geminiBaseUrl}, Azure: AZURE_OPENAI_ENDPOINT=${fake.azureEndpoint})\n`,
  );
}
