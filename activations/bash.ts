import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { activation, ErrorCode, method, PlexusError, type CallContext } from '../src/index.js';
import {
  announceContainment,
  baseEnvironment,
  DEFAULT_MAX_PROCESSES,
  runProcess,
  type ContainmentRequest,
  type EnvPolicy,
} from './process/index.js';

/** A line the command wrote to stdout (without its line ending). */
export interface BashStdout {
  type: 'stdout';
  line: string;
  /** Present (true) when the output ended without a final newline. */
  partial?: boolean;
}

/** A line the command wrote to stderr (without its line ending). */
export interface BashStderr {
  type: 'stderr';
  line: string;
  /** Present (true) when the output ended without a final newline. */
  partial?: boolean;
}

/** The command's main process ended; always the last item of a run that started. */
export interface BashExit {
  type: 'exit';
  /** Exit status, or -1 when a signal ended the process (as the reference reports it). */
  code: number;
  /** The signal that ended the process, e.g. "SIGTERM"; null on a normal exit. */
  signal: string | null;
  /** From spawn to exit, in milliseconds. */
  duration_ms: number;
  /** Present (true) when the call's timeout ended the run. */
  timed_out?: boolean;
}

/** The output cap was reached: what follows was discarded and the command's pipes closed. */
export interface BashTruncated {
  type: 'truncated';
  /** The cap, in bytes of stdout and stderr together. */
  limit_bytes: number;
  message: string;
}

/** The command could not run (spawn failure) or was stopped by the timeout. */
export interface BashError {
  type: 'error';
  message: string;
}

export type BashEvent = BashStdout | BashStderr | BashExit | BashTruncated | BashError;

export interface BashOptions {
  /** The shell run as `<shell> -c <command>` (default `bash`, found on PATH). */
  readonly shell?: string;
  /** Working directory of every command; a call's `cwd` resolves against it (default: the hub's cwd). */
  readonly cwd?: string;
  /** Where a command's environment starts (default `minimal`; see README). */
  readonly env?: EnvPolicy;
  /** Timeout when a call gives none (default 60 s). */
  readonly defaultTimeoutMs?: number;
  /** Largest timeout a call may ask for (default 10 min). */
  readonly maxTimeoutMs?: number;
  /** Bytes of stdout + stderr per call (default 1 MiB). */
  readonly maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL when a run is stopped (default 2 s). */
  readonly killGraceMs?: number;
  /**
   * Processes (tasks) one call may run at once, the shell included (default 256, or
   * `PLEXUS_MAX_PROCESSES`); past it every process of the call is killed.
   */
  readonly maxProcesses?: number;
  /** How each call's processes are contained (default `auto`; see docs/activations/bash.md). */
  readonly containment?: ContainmentRequest;
  /** Where the start line naming the process containment goes (default: stderr, once per process). */
  readonly log?: (line: string) => void;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Execute bash commands and stream output.
 *
 * Each command runs in its own process group and is contained (a PID namespace where
 * the system allows one, see docs/activations/bash.md); cancelling the call, its
 * timeout, or the end of the command's main process terminates every process it
 * started (SIGTERM, then SIGKILL). Needs the `execute` verb.
 */
@activation('bash', { version: '1.0.0' })
export class Bash {
  readonly #shell: string;
  readonly #cwd: string;
  readonly #env: EnvPolicy;
  readonly #defaultTimeoutMs: number;
  readonly #maxTimeoutMs: number;
  readonly #maxOutputBytes: number;
  readonly #graceMs: number;
  readonly #maxProcesses: number;
  readonly #containment: ContainmentRequest;

  constructor(options: BashOptions = {}) {
    this.#shell = options.shell ?? 'bash';
    this.#cwd = resolve(options.cwd ?? process.cwd());
    this.#env = options.env ?? 'minimal';
    this.#maxTimeoutMs = options.maxTimeoutMs ?? 600_000;
    this.#defaultTimeoutMs = Math.min(options.defaultTimeoutMs ?? 60_000, this.#maxTimeoutMs);
    this.#maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
    this.#graceMs = options.killGraceMs ?? 2000;
    this.#maxProcesses = options.maxProcesses ?? defaultMaxProcesses();
    this.#containment = options.containment ?? 'auto';
    announceContainment(options.log ?? ((line) => process.stderr.write(`${line}\n`)), this.#maxProcesses, this.#containment);
  }

  /**
   * Execute a bash command and stream stdout, stderr, and exit code
   * @param command - the command line, run as `bash -c <command>`
   * @param timeout_ms - wall-clock limit in milliseconds (default 60000, at most the server's maximum)
   * @param cwd - working directory; relative paths resolve against the server's configured directory
   * @param env - variables added to (or overriding) the command's environment
   */
  @method({ verbs: ['execute'], streaming: true })
  async *execute(
    command: string,
    timeout_ms?: number,
    cwd?: string,
    env?: Record<string, string>,
    ctx?: CallContext,
  ): AsyncGenerator<BashEvent> {
    if (command.includes('\0')) throw PlexusError.invalidParams('command contains a NUL byte');
    const timeoutMs = timeout_ms ?? this.#defaultTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > this.#maxTimeoutMs) {
      throw PlexusError.invalidParams(`timeout_ms must be an integer from 1 to ${this.#maxTimeoutMs}`);
    }
    const dir = resolve(this.#cwd, cwd ?? '.');
    if (!isDirectory(dir)) throw PlexusError.invalidParams(`cwd '${dir}' is not an existing directory`);
    for (const [key, value] of Object.entries(env ?? {})) {
      if (!ENV_NAME.test(key)) throw PlexusError.invalidParams(`env name '${key}' is not a valid variable name`);
      if (value.includes('\0')) throw PlexusError.invalidParams(`env '${key}' contains a NUL byte`);
    }

    const events = runProcess({
      file: this.#shell,
      args: ['-c', command],
      cwd: dir,
      env: { ...baseEnvironment(this.#env), ...env },
      timeoutMs,
      graceMs: this.#graceMs,
      maxOutputBytes: this.#maxOutputBytes,
      maxProcesses: this.#maxProcesses,
      containment: this.#containment,
      signal: ctx?.signal,
    });
    let timedOut = false;
    // A non-zero exit is the command's answer (data); not running, a timeout or a kill is the
    // call failing. A signal after the output cap (SIGPIPE: we closed the pipes) is the cap's doing.
    let failure: string | undefined;
    let truncated = false;
    for await (const event of events) {
      switch (event.kind) {
        case 'line':
          yield event.partial ? { type: event.stream, line: event.line, partial: true } : { type: event.stream, line: event.line };
          break;
        case 'truncated':
          truncated = true;
          yield {
            type: 'truncated',
            limit_bytes: event.limitBytes,
            message: `output exceeded ${event.limitBytes} bytes: the rest was discarded and the command's pipes were closed`,
          };
          break;
        case 'timeout':
          timedOut = true;
          failure = `command timed out after ${event.timeoutMs} ms; its process group was terminated`;
          yield { type: 'error', message: failure };
          break;
        case 'process_limit':
          failure = `command started more than ${event.limit} processes (the per-call cap): every process of the call was killed`;
          yield { type: 'error', message: failure };
          break;
        case 'spawn_error':
          failure = `failed to spawn ${this.#shell} (command='${command}'): ${event.message}`;
          yield { type: 'error', message: failure };
          break;
        case 'exit':
          yield {
            type: 'exit',
            code: event.code ?? -1,
            signal: event.signal,
            duration_ms: event.durationMs,
            ...(timedOut ? { timed_out: true } : {}),
          };
          if (event.signal && !truncated) failure ??= `command was killed by ${event.signal}`;
          break;
      }
    }
    if (failure !== undefined && !ctx?.signal?.aborted) throw new PlexusError(ErrorCode.ExecutionError, failure);
  }
}

/** `PLEXUS_MAX_PROCESSES` when it is a positive integer, else 256. */
function defaultMaxProcesses(): number {
  const n = Number(process.env.PLEXUS_MAX_PROCESSES);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_PROCESSES;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
