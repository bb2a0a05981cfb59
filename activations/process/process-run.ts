import type { Readable } from 'node:stream';
import { Fifo } from './fifo.js';
import { LineSplitter } from './line-splitter.js';
import { ProcessGroup, type SpawnSpec } from './process-group.js';

export interface RunSpec extends SpawnSpec {
  /** Wall-clock limit; the group is terminated when it passes. */
  readonly timeoutMs: number;
  /** Time between SIGTERM and SIGKILL. */
  readonly graceMs: number;
  /** Bytes of stdout + stderr kept per run; beyond it the pipes are closed. */
  readonly maxOutputBytes: number;
  /** Aborting it terminates the group and ends the events. */
  readonly signal?: AbortSignal;
}

export type OutputStream = 'stdout' | 'stderr';

export type ProcessEvent =
  | { readonly kind: 'line'; readonly stream: OutputStream; readonly line: string; readonly partial: boolean }
  | { readonly kind: 'truncated'; readonly limitBytes: number }
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly kind: 'spawn_error'; readonly message: string }
  /** The call started more processes than its cap: all of them were killed. */
  | { readonly kind: 'process_limit'; readonly limit: number; readonly count: number }
  | {
      readonly kind: 'exit';
      /** Exit code, or null when a signal ended the process. */
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly durationMs: number;
      readonly pid: number;
    };

/** Queued output above which the pipes are paused until the consumer catches up. */
const HIGH_WATER = 64 * 1024;

/**
 * What one queued line costs beyond its text (the event object, and the item's JSON
 * framing once sent). Counted so that empty lines, which add no text, still fill the
 * queue: `yes ''` would otherwise queue its whole output cap as a million items.
 */
const LINE_FRAMING_BYTES = 64;

const queuedSize = (line: string) => line.length + LINE_FRAMING_BYTES;

/**
 * Runs a program in its own process group and yields its output as lines, stdout
 * and stderr interleaved in the order they are read, then one `exit` event. The
 * run ends when the leader has exited and both pipes are closed (as `$(…)` waits
 * for every writer); group members still running then are terminated, so nothing
 * outlives the run. Returning early (or aborting `signal`) terminates the group.
 */
export async function* runProcess(spec: RunSpec): AsyncGenerator<ProcessEvent, void, undefined> {
  const run = new ProcessRun(spec);
  try {
    yield* run.events();
  } finally {
    await run.dispose();
  }
}

class ProcessRun {
  readonly #spec: RunSpec;
  readonly #group: ProcessGroup;
  readonly #started = performance.now();
  readonly #queue = new Fifo<ProcessEvent>();
  #queuedBytes = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #outputBytes = 0;
  #truncated = false;
  #paused = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => {
    void this.#stop();
    this.#wakeUp();
  };
  readonly #splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  /** Set when the leader has exited and both pipes are closed ('close'). */
  #closed = false;
  #markClosed!: () => void;
  readonly #whenClosed = new Promise<void>((resolve) => (this.#markClosed = resolve));

  constructor(spec: RunSpec) {
    this.#spec = spec;
    this.#group = new ProcessGroup(spec, (count) => {
      // A fork bomb gets no grace period: everything of the call is killed now.
      this.#push({ kind: 'process_limit', limit: this.#group.processes.maxProcesses, count });
      this.#group.kill();
      void this.#stop();
    });
    const { child } = this.#group;
    child.on('error', (err) => {
      // Only a failed spawn reports here before 'close'; later errors (a failed kill) are ours to ignore.
      if (this.#group.pgid === undefined) {
        this.#push({ kind: 'spawn_error', message: err.message });
        this.#end();
      }
    });
    if (this.#group.pgid === undefined) return;
    this.#read('stdout', child.stdout!);
    this.#read('stderr', child.stderr!);
    child.on('close', (code, signal) => {
      this.#closed = true;
      this.#markClosed();
      void this.#finish(code, signal);
    });
    this.#timer = setTimeout(() => {
      this.#push({ kind: 'timeout', timeoutMs: spec.timeoutMs });
      void this.#stop();
    }, spec.timeoutMs);
    if (spec.signal?.aborted) this.#onAbort();
    else spec.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #read(stream: OutputStream, pipe: Readable): void {
    pipe.on('data', (chunk: Buffer) => this.#output(stream, chunk));
    pipe.on('end', () => this.#flush(stream));
    pipe.on('error', () => {}); // EPIPE/ECONNRESET after we destroy it: the run goes on
  }

  #output(stream: OutputStream, chunk: Buffer): void {
    if (this.#truncated) return;
    const room = this.#spec.maxOutputBytes - this.#outputBytes;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#outputBytes += kept.length;
    for (const line of this.#splitters[stream].push(kept)) this.#push({ kind: 'line', stream, line, partial: false });
    if (kept === chunk) return;
    // Over the cap: keep what fits, then close both pipes. The program sees EPIPE
    // (or dies of SIGPIPE) on its next write, as with `| head -c N`.
    this.#truncated = true;
    this.#flush('stdout');
    this.#flush('stderr');
    this.#push({ kind: 'truncated', limitBytes: this.#spec.maxOutputBytes });
    this.#group.child.stdout!.destroy();
    this.#group.child.stderr!.destroy();
  }

  /**
   * Terminates the group, then makes sure the run can end: a process that left the
   * group (setsid) may still hold our pipes, and 'close' waits for them.
   */
  async #stop(): Promise<void> {
    await this.#group.terminate(this.#spec.graceMs);
    if (this.#closed) return;
    // Usually the pipes close as the group dies; give them a moment to deliver what is buffered.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#whenClosed, new Promise((r) => (timer = setTimeout(r, 100)))]);
    clearTimeout(timer);
    this.#group.child.stdout?.destroy();
    this.#group.child.stderr?.destroy();
  }

  #flush(stream: OutputStream): void {
    const rest = this.#splitters[stream].flush();
    if (rest !== undefined) this.#push({ kind: 'line', stream, line: rest, partial: true });
  }

  async #finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    clearTimeout(this.#timer);
    const durationMs = Math.round(performance.now() - this.#started);
    // The leader is gone and nobody holds the pipes; anything left in the group is
    // a detached background job, which must not outlive the call.
    await this.#group.terminate(this.#spec.graceMs);
    this.#push({ kind: 'exit', code, signal, durationMs, pid: this.#group.pgid! });
    this.#end();
  }

  #push(event: ProcessEvent): void {
    if (this.#ended) return;
    this.#queue.push(event);
    if (event.kind === 'line') {
      this.#queuedBytes += queuedSize(event.line);
      if (this.#queuedBytes > HIGH_WATER && !this.#paused) this.#setPaused(true);
    }
    this.#wakeUp();
  }

  #end(): void {
    this.#ended = true;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #setPaused(paused: boolean): void {
    this.#paused = paused;
    const { stdout, stderr } = this.#group.child;
    for (const pipe of [stdout, stderr]) {
      if (!pipe || pipe.destroyed) continue;
      if (paused) pipe.pause();
      else pipe.resume();
    }
  }

  async *events(): AsyncGenerator<ProcessEvent, void, undefined> {
    for (;;) {
      const event = this.#queue.shift();
      if (event) {
        if (event.kind === 'line') {
          this.#queuedBytes -= queuedSize(event.line);
          if (this.#paused && this.#queuedBytes < HIGH_WATER / 2) this.#setPaused(false);
        }
        yield event;
        continue;
      }
      if (this.#ended || this.#spec.signal?.aborted) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Stops everything still running; resolves when the whole group is gone. */
  async dispose(): Promise<void> {
    clearTimeout(this.#timer);
    this.#spec.signal?.removeEventListener('abort', this.#onAbort);
    this.#ended = true;
    await this.#stop();
  }
}
