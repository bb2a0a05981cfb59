import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LineReader } from '../transport/line-reader.js';
import { ErrorCode } from '../wire/errors.js';

/**
 * MCP over stdio (newline-delimited JSON-RPC) with the same line rule as
 * `hub serve --stdio`: a line longer than `maxBytes` is dropped as it arrives
 * (never buffered whole) and answered with -32600, and the session goes on.
 * The SDK's `StdioServerTransport` buffers up to 10 MiB and, past it, closes the
 * transport, after which `hub mcp` exited 0 without a word.
 */
export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #reader: LineReader;
  #started = false;
  #closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly maxBytes: number,
  ) {
    this.#reader = new LineReader(
      maxBytes,
      (line) => this.#line(line),
      () =>
        this.#reply(
          ErrorCode.InvalidRequest,
          `Invalid request: message is larger than ${this.maxBytes} bytes (the limit, --max-frame-bytes); it was skipped`,
        ),
    );
  }

  readonly #onData = (chunk: Buffer | string): void => this.#reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  readonly #onError = (error: Error): void => this.onerror?.(error);

  async start(): Promise<void> {
    if (this.#started) throw new Error('LineStdioTransport already started');
    this.#started = true;
    this.input.on('data', this.#onData);
    this.input.on('error', this.#onError);
  }

  #line(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return this.#reply(ErrorCode.ParseError, 'Parse error: the line is not JSON');
    }
    const message = JSONRPCMessageSchema.safeParse(parsed);
    if (!message.success) return this.#reply(ErrorCode.InvalidRequest, 'Invalid request: not a JSON-RPC 2.0 message');
    this.onmessage?.(message.data);
  }

  /** An error that answers no request of known id (the line could not be read). */
  #reply(code: number, message: string): void {
    void this.send({ jsonrpc: '2.0', id: null, error: { code, message } } as unknown as JSONRPCMessage).catch(() => {});
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed || this.output.destroyed) return resolve();
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.input.off('data', this.#onData);
    this.input.off('error', this.#onError);
    if (this.input.listenerCount('data') === 0) this.input.pause();
    this.onclose?.();
  }
}
