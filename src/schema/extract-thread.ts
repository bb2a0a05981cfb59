import { Worker } from 'node:worker_threads';
import type { ExtractTarget } from './extract.js';
import type { ExtractFailure, ExtractReply } from './extract-worker.js';
import { SchemaExtractionError } from './type-source.js';

/** The extractor thread's module beside this one: compiled JS in dist/, the TypeScript source under tsx. */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './extract-worker.ts' : './extract-worker.js', import.meta.url);

function startWorker(targets: readonly ExtractTarget[]): Worker {
  const options = { workerData: targets, execArgv: [] };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, options);
  // Node 20 does not apply loader hooks registered with `--import tsx` to worker
  // threads (nodejs/node#47747), so the thread registers tsx itself, then imports the source.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = JSON.stringify(WORKER_URL.href);
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${worker}); });`, { ...options, eval: true });
}

/** The error a failed class gets in this thread: a SchemaExtractionError stays one. */
export function extractionError(failure: ExtractFailure): Error {
  if (failure.name === 'SchemaExtractionError') return new SchemaExtractionError(failure.message);
  return Object.assign(new Error(failure.message), { name: failure.name });
}

/**
 * Runs the extractor (extract-worker.ts) in a thread that exits afterwards: the
 * TypeScript compiler is loaded there and never in the calling process.
 */
export function extractInWorker(targets: readonly ExtractTarget[]): Promise<ExtractReply> {
  return new Promise<ExtractReply>((resolve, reject) => {
    const worker = startWorker(targets);
    let answered = false;
    worker.once('message', (reply: ExtractReply) => {
      answered = true;
      resolve(reply);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the schema extractor thread exited with code ${code} before answering`));
    });
  });
}
