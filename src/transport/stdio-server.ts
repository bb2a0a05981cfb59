import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { trustedPrincipal, type Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { ErrorCode } from '../wire/errors.js';
import { errorResponse } from '../wire/jsonrpc.js';
import { RpcSession } from './rpc-session.js';
import { DEFAULT_MAX_FRAME_BYTES, type MessageSink, type SessionLimits } from './types.js';

export interface StdioServeOptions extends SessionLimits {
  /**
   * Who the peer is. Default: the trusted parent process (it spawned us and owns
   * our stdin); `hub serve --stdio --token …` passes the token's principal instead.
   */
  readonly principal?: Principal;
  readonly input?: Readable;
  readonly output?: Writable;
  /** Longest accepted line in bytes (default 1 MiB). */
  readonly maxFrameBytes?: number;
}

/** A sink over a byte stream: one JSON message per line, paused while the pipe is full. */
class LineSink implements MessageSink {
  /** One wait per congestion episode, shared by every paused stream (no listener per stream). */
  #drain?: Promise<void>;
  constructor(private readonly output: Writable) {}
  send(message: string): void {
    this.output.write(`${message}\n`);
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
 * spawn the hub as a child process. Resolves when the input ends and every
 * running stream has finished.
 */
export function serveStdio(hub: DynamicHub, options: StdioServeOptions = {}): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const maxBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const sink = new LineSink(output);
  const session = new RpcSession(hub, sink, { ...options, principal: options.principal ?? trustedPrincipal() });
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    if (Buffer.byteLength(line) > maxBytes) {
      sink.send(errorResponse(null, { code: ErrorCode.InvalidRequest, message: `Invalid request: message is larger than ${maxBytes} bytes` }));
      return;
    }
    session.receive(line);
  });
  return new Promise((resolve) => {
    // The input ended: the same shutdown as any server, with no time limit (the
    // host reads our output until we exit).
    lines.once('close', () => {
      void session.shutdown().then(() => {
        session.close();
        resolve();
      });
    });
  });
}
