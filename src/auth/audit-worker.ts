/**
 * The audit log's writer thread (started by `startAuditWriter`, audit-writer.ts). It
 * receives batches of records serialised by the hub's thread, chains them
 * (`hash = sha256(prev ‖ canonical record)`), appends the lines and keeps the head
 * file; hashing and writing stay off the event loop that serves calls. It imports
 * only Node built-ins, so it loads the same from the sources and from dist/.
 */
import * as crypto from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** What the thread starts from. */
export interface AuditWriterData {
  readonly file: string;
  readonly headFile: string;
  /** Shared with the hub's thread: [0] the last seq written, [1] 1 once closed. */
  readonly state: Int32Array;
  /** The chain's last hash and seq (the log's end when it was opened). */
  readonly prev: string;
  readonly seq: number;
}

export type AuditWriterMessage =
  /** Records as one JSON array: objects, or strings the hub canonicalised itself (keys JSON.stringify would reorder). */
  | { readonly batch: string; readonly seq: number }
  /** Write the head file, sync, close, and say so in the shared state. */
  | { readonly close: true };

/** The head file is rewritten at most this often while records arrive (and on close). */
const HEAD_EVERY_MS = 1000;

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
const sha256 = oneShotHash
  ? (text: string) => oneShotHash('sha256', text)
  : (text: string) => crypto.createHash('sha256').update(text).digest('hex');

function runWriter(port: NonNullable<typeof parentPort>, data: AuditWriterData): void {
  const { file, headFile, state } = data;
  let prev = data.prev;
  let seq = data.seq;
  const fd = openSync(file, 'a', 0o600);
  let headAt = 0;

  const writeHead = (): void => {
    headAt = Date.now();
    const tmp = `${headFile}.${process.pid}.tmp`;
    const hfd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(hfd, `${JSON.stringify({ seq, hash: prev })}\n`);
      fsyncSync(hfd);
    } finally {
      closeSync(hfd);
    }
    renameSync(tmp, headFile);
  };

  port.on('message', (msg: AuditWriterMessage) => {
    if ('batch' in msg) {
      const records = JSON.parse(msg.batch) as (string | Record<string, unknown>)[];
      let out = '';
      for (const record of records) {
        const body = typeof record === 'string' ? record : JSON.stringify(record);
        const hash = sha256(prev + body);
        out += `{"hash":"${hash}","prev":"${prev}",${body.slice(1)}\n`;
        prev = hash;
      }
      writeSync(fd, out);
      seq = msg.seq;
      Atomics.store(state, 0, seq);
      Atomics.notify(state, 0);
      if (Date.now() - headAt >= HEAD_EVERY_MS) writeHead();
    } else {
      writeHead();
      fsyncSync(fd);
      closeSync(fd);
      Atomics.store(state, 1, 1);
      Atomics.notify(state, 1);
      port.close();
    }
  });
}

if (!parentPort) throw new Error('audit-worker runs as a worker thread: start it with startAuditWriter() (audit-writer.ts)');
runWriter(parentPort, workerData as AuditWriterData);
