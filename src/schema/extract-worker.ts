/**
 * The schema extractor's process: it loads the TypeScript compiler, extracts the
 * batches it is sent, and exits when the hub lets it go (a moment after the last
 * batch), so the compiler's hundreds of megabytes leave with it instead of staying in
 * the hub for its whole life (a process, not a thread: a thread's freed heap still
 * counts in the hub's RSS).
 */
import type ts from 'typescript';
import { type ExtractedClass, type ExtractTarget, extractClasses } from './extract.js';

export interface ExtractFailure {
  readonly name: string;
  readonly message: string;
}

/** What the hub sends: a batch, numbered so the answer names it. */
export interface ExtractRequest {
  readonly id: number;
  readonly targets: readonly ExtractTarget[];
}

export interface ExtractReply {
  /** One per target, in order: its schema, or why it has none. */
  readonly classes: readonly ({ readonly ok: ExtractedClass } | { readonly error: ExtractFailure })[];
  /** Every non-library file the types came from. */
  readonly dependencies: readonly string[];
}

/** The worker's answer to one request. */
export interface ExtractAnswer {
  readonly id: number;
  readonly reply: ExtractReply;
}

/** Parsed typings kept between batches of this process's life. */
const libraryFiles = new Map<string, ts.SourceFile>();

function failure(err: unknown): ExtractFailure {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message };
}

/** One program for the whole batch; when that fails, one per class, so a broken class does not fail the others. */
function extractBatch(targets: readonly ExtractTarget[]): ExtractReply {
  try {
    const result = extractClasses(targets, libraryFiles);
    return { classes: result.classes.map((ok) => ({ ok })), dependencies: result.dependencies };
  } catch (err) {
    if (targets.length === 1) return { classes: [{ error: failure(err) }], dependencies: [] };
  }
  const dependencies = new Set<string>();
  const classes = targets.map((target) => {
    try {
      const result = extractClasses([target], libraryFiles);
      for (const file of result.dependencies) dependencies.add(file);
      return { ok: result.classes[0]! };
    } catch (err) {
      return { error: failure(err) };
    }
  });
  return { classes, dependencies: [...dependencies] };
}

const send = process.send?.bind(process);
if (!send) throw new Error('extract-worker runs as a child process: start it with extractInWorker() (extract-process.ts)');
// Exits when the hub disconnects (idle, or gone): nothing else keeps it alive.
process.on('message', ({ id, targets }: ExtractRequest) => {
  send({ id, reply: extractBatch(targets) } satisfies ExtractAnswer);
});
