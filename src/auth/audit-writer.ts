import { Worker } from 'node:worker_threads';
import type { AuditWriterData } from './audit-worker.js';

/** The writer thread's module beside this one: compiled JS in dist/, the TypeScript source under tsx. */
export const AUDIT_WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './audit-worker.ts' : './audit-worker.js', import.meta.url);

/**
 * Starts the audit log's writer thread (audit-worker.ts). It gets none of the
 * process's `execArgv`: it needs only Node built-ins, and some flags (`--input-type`,
 * say) would stop a worker loaded from a file.
 */
export function startAuditWriter(data: AuditWriterData): Worker {
  if (!AUDIT_WORKER_URL.pathname.endsWith('.ts')) return new Worker(AUDIT_WORKER_URL, { workerData: data, execArgv: [] });
  // Node 20 does not apply loader hooks registered with `--import tsx` to worker
  // threads (nodejs/node#47747, privatenumber/tsx#354), so the thread registers tsx
  // itself, then imports the source.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = JSON.stringify(AUDIT_WORKER_URL.href);
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${worker}); });`, {
    eval: true,
    workerData: data,
    execArgv: [],
  });
}
