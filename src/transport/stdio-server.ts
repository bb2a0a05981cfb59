import type { Readable, Writable } from 'node:stream';
import { trustedPrincipal, type Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { ErrorCode } from '../wire/errors.js';
import { errorResponse } from '../wire/jsonrpc.js';
import { LineReader } from './line-reader.js';
import { RpcSession } from './rpc-session.js';
import { DEFAULT_GRACE_MS, DEFAULT_MAX_FRAME_BYTES, type MessageSink, type SessionLimits } from './types.js';

export interface StdioServeOptions extends SessionLimits {
  /**
   * Who the peer is. Default: the trusted parent process (it spawned us and owns
   * our stdin); `hub serve --stdio --token …` passes the token's principal instead.
   */
  readonly principal?: Principal;
  readonly input?: Readable;
  readonly output?: Writable;
  /** Longest accepted line in bytes (default 1 MiB); a longer one is skipped as it arrives. */
  readonly maxFrameBytes?: number;
  /** After the input ends, how long running streams may go on before they are cancelled (default 2000 ms). */
  readonly graceMs?: number;
}

/**
 * A sink over a byte stream: one JSON message per line, paused while the pipe is full.
 * While it is, the input is not read either: every reply queues here, so a peer that
 * writes requests and never reads its answers would otherwise grow the queue without end.
 */
class LineSink implements MessageSink {
  /** One wait per congestion episode, shared by every paused stream (no listener per stream). */
  #drain?: Promise<void>;
  constructor(
    private readonly output: Writable,
    private readonly input?: Readable,
  ) {}
  send(message: string): void {
    if (!this.output.write(`${message}\n`) && this.input && !this.input.isPaused()) {
      const input = this.input;
      input.pause();
      void this.drained().then(() => input.resume());
    }
  }
  congested(): boolean {
    return this.output.writableNeedDrain;
  }
  drained(): Promise<void> {
    if (!this.congested()) return Promise.resolve();
    return (this.#drain ??= new Promise<void>((resolve) =>
      this.output.once('drain', () => {
        this.#drain = undefined;
        resolve();
      }),
    ));
  }
}

/**
 * Serves a hub over stdin/stdout, one JSON-RPC message per line, for hosts that
 * spawn the hub as a child process. When the input ends, running streams get the
 * shutdown grace period (so `echo '{…}' | hub serve --stdio` still answers), then
 * are cancelled; resolves once they are gone.
 */
export function serveStdio(hub: DynamicHub, options: StdioServeOptions = {}): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const maxBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxFrameBytes must be a positive integer, not ${maxBytes}`);
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const sink = new LineSink(output, input);
  const session = new RpcSession(hub, sink, { ...options, principal: options.principal ?? trustedPrincipal() });
  const reader = new LineReader(
    maxBytes,
    (line) => {
      if (line.trim() !== '') session.receive(line);
    },
    () =>
      sink.send(
        errorResponse(null, {
          code: ErrorCode.InvalidRequest,
          message: `Invalid request: message is larger than ${maxBytes} bytes (the limit); it was skipped`,
        }),
      ),
  );
  input.on('data', (chunk: Buffer | string) => reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  return new Promise((resolve) => {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      reader.end();
      void session.shutdown(graceMs).then(() => {
        session.close('Server shutting down: the input ended');
        resolve();
      });
    };
    input.once('end', end);
    input.once('close', end);
    input.once('error', end);
    // Nobody reads our output any more: nothing to wait for.
    output.once('error', () => {
      session.close();
      end();
    });
  });
}
