import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExtractTarget } from './extract.js';
import type { ExtractFailure, ExtractReply } from './extract-worker.js';
import { SchemaExtractionError } from './type-source.js';

/** The extractor's module beside this one: compiled JS in dist/, the TypeScript source under tsx. */
const UNDER_TSX = import.meta.url.endsWith('.ts');
const WORKER = fileURLToPath(new URL(UNDER_TSX ? './extract-worker.ts' : './extract-worker.js', import.meta.url));

/** The error a failed class gets in this process: a SchemaExtractionError stays one. */
export function extractionError(failure: ExtractFailure): Error {
  if (failure.name === 'SchemaExtractionError') return new SchemaExtractionError(failure.message);
  return Object.assign(new Error(failure.message), { name: failure.name });
}

/**
 * Runs the extractor (extract-worker.ts) in a child process that exits afterwards:
 * the TypeScript compiler is loaded there and never in the calling process.
 */
export function extractInWorker(targets: readonly ExtractTarget[]): Promise<ExtractReply> {
  return new Promise<ExtractReply>((resolve, reject) => {
    // None of our execArgv (inspector ports, --input-type…); tsx only when running from sources.
    const child = fork(WORKER, [], {
      execArgv: UNDER_TSX ? ['--import', 'tsx'] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let answered = false;
    child.once('message', (reply: ExtractReply) => {
      answered = true;
      resolve(reply);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!answered) reject(new Error(`the schema extractor process ended (${signal ?? `code ${code}`}) before answering`));
    });
    child.send(targets);
  });
}
