/**
 * The audit log's writer thread (started by `startAuditWriter`, audit-writer.ts). It
 * receives batches of canonical records, one per line, from the hub's thread, chains them
 * (`hash = sha256(prev ‖ canonical record)`), appends the lines, rotates the file by
 * size and keeps the authenticated head file; hashing and writing stay off the event
 * loop that serves calls. It imports only Node built-ins and modules that import only
 * those, so it loads the same from the sources and from dist/.
 */
import * as crypto from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { rotatedFile } from './audit-files.js';
import { writeHead } from './audit-head.js';

/** What the thread starts from. */
export interface AuditWriterData {
  readonly file: string;
  readonly headFile: string;
  /** The audit key, hex: the head's MAC. */
  readonly key: string;
  /** Shared with the hub's thread: [0] the last seq written, [1] 1 once closed. */
  readonly state: Int32Array;
  /** The chain's last hash and seq (the log's end when it was opened). */
  readonly prev: string;
  readonly seq: number;
  /** Bytes in the current file already. */
  readonly size: number;
  /** Rotate once the current file reaches this size. */
  readonly rotateBytes: number;
  /** The number the next rotated file gets. */
  readonly nextRotated: number;
}

export type AuditWriterMessage =
  /** Canonical (RFC 8785) bodies of records, one per line: hashed and written as they are. */
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
  const { file, headFile, state, rotateBytes } = data;
  const key = Buffer.from(data.key, 'hex');
  let prev = data.prev;
  let seq = data.seq;
  let fd = openSync(file, 'a', 0o600);
  let size = data.size;
  let nextRotated = data.nextRotated;
  let headAt = 0;

  const head = (closed = false): void => {
    headAt = Date.now();
    // The lines first: a head must never vouch for records a crash could still lose.
    fsyncSync(fd);
    writeHead(headFile, key, seq, prev, closed);
  };

  /** The full file becomes `<file>.<n>`; the chain goes on in a new one. */
  const rotate = (): void => {
    fsyncSync(fd);
    closeSync(fd);
    renameSync(file, rotatedFile(file, nextRotated++));
    fd = openSync(file, 'a', 0o600);
    size = 0;
    head();
  };

  port.on('message', (msg: AuditWriterMessage) => {
    if ('batch' in msg) {
      const bodies = msg.batch.split('\n');
      // Each line is encoded into one buffer as it is made: a string of a whole batch
      // built by concatenation costs more to flatten and encode than the hashing itself.
      // A UTF-16 unit takes at most 3 bytes; hash, prev and their keys take 149 a line.
      const out = Buffer.allocUnsafe(msg.batch.length * 3 + bodies.length * 160);
      let n = 0;
      for (const body of bodies) {
        const hash = sha256(prev + body);
        n += out.write(`{"hash":"${hash}","prev":"${prev}",${body.slice(1)}\n`, n);
        prev = hash;
      }
      writeSync(fd, out, 0, n);
      size += n;
      seq = msg.seq;
      Atomics.store(state, 0, seq);
      Atomics.notify(state, 0);
      if (size >= rotateBytes) rotate();
      else if (Date.now() - headAt >= HEAD_EVERY_MS) head();
    } else {
      head(true);
      closeSync(fd);
      Atomics.store(state, 1, 1);
      Atomics.notify(state, 1);
      port.close();
    }
  });
}

if (!parentPort) throw new Error('audit-worker runs as a worker thread: start it with startAuditWriter() (audit-writer.ts)');
runWriter(parentPort, workerData as AuditWriterData);
