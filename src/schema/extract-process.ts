import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ExtractTarget } from './extract.js';
import type { ExtractAnswer, ExtractFailure, ExtractReply, ExtractRequest } from './extract-worker.js';
import { SchemaExtractionError } from './type-source.js';

/** The extractor's module beside this one: compiled JS in dist/, the TypeScript source under tsx. */
const UNDER_TSX = import.meta.url.endsWith('.ts');
const WORKER = fileURLToPath(new URL(UNDER_TSX ? './extract-worker.ts' : './extract-worker.js', import.meta.url));

/** The error a failed class gets in this process: a SchemaExtractionError stays one. */
export function extractionError(failure: ExtractFailure): Error {
  if (failure.name === 'SchemaExtractionError') return new SchemaExtractionError(failure.message);
  return Object.assign(new Error(failure.message), { name: failure.name });
}

/** How long the extractor process stays after its last answer, for the next batch (modules loaded one after another). */
const IDLE_MS = 1000;

interface Pending {
  readonly resolve: (reply: ExtractReply) => void;
  readonly reject: (err: Error) => void;
}

/**
 * The extractor process while it lives: started by the first batch, kept for
 * IDLE_MS after the last answer (so a burst of imports pays for one start and
 * parses the typings once), then let go; it never keeps the hub alive.
 */
class Extractor {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #idle: NodeJS.Timeout | undefined;
  readonly #onGone: () => void;

  constructor(onGone: () => void) {
    this.#onGone = onGone;
    // None of our execArgv (inspector ports, --input-type…); tsx only when running from sources.
    // Required here, not imported: a warm start extracts nothing and need not load child_process.
    const { fork } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    this.#child = fork(WORKER, [], {
      execArgv: UNDER_TSX ? ['--import', 'tsx'] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.#child.on('message', ({ id, reply }: ExtractAnswer) => {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      pending?.resolve(reply);
      if (this.#pending.size === 0) this.#rest();
    });
    const fail = (why: string): void => {
      onGone();
      for (const pending of this.#pending.values()) pending.reject(new Error(why));
      this.#pending.clear();
    };
    this.#child.once('error', (err) => fail(`the schema extractor process failed: ${err.message}`));
    this.#child.once('exit', (code, signal) => fail(`the schema extractor process ended (${signal ?? `code ${code}`}) before answering`));
    this.#child.once('disconnect', onGone);
  }

  extract(targets: readonly ExtractTarget[]): Promise<ExtractReply> {
    clearTimeout(this.#idle);
    this.#child.ref();
    (this.#child.channel as { ref?: () => void } | undefined)?.ref?.();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, targets } satisfies ExtractRequest);
    });
  }

  /** Idle: the process may not hold the hub open, and goes after IDLE_MS. */
  #rest(): void {
    this.#child.unref();
    (this.#child.channel as { unref?: () => void } | undefined)?.unref?.();
    this.#idle = setTimeout(() => {
      this.#onGone(); // the next batch starts a new process rather than meet this one closing
      if (this.#child.connected) this.#child.disconnect();
    }, IDLE_MS).unref();
  }
}

let extractor: Extractor | undefined;
const whileExtracting: (() => void)[] = [];

/**
 * Work for this process while a batch is extracted (a cold start: the extractor takes
 * a second or more on its own core, and this process waits): `fn` runs once, on the
 * first batch after it was given.
 */
export function onFirstExtraction(fn: () => void): void {
  whileExtracting.push(fn);
}

/** Runs a batch in the extractor process (extract-worker.ts): the TypeScript compiler is never loaded in this one. */
export function extractInWorker(targets: readonly ExtractTarget[]): Promise<ExtractReply> {
  const current = (extractor ??= new Extractor(() => {
    if (extractor === current) extractor = undefined;
  }));
  const reply = current.extract(targets);
  for (const fn of whileExtracting.splice(0)) setImmediate(fn);
  return reply;
}
