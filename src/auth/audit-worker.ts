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
  /** Canonical (RFC 8785) bodies of `lines` records, UTF-8, each ending in a newline: hashed and written as they are. */
  | { readonly bytes: Uint8Array; readonly lines: number; readonly seq: number }
  /** Write the head file, sync, close, and say so in the shared state. */
  | { readonly close: true };

/** The head file is rewritten at most this often while records arrive (and on close). */
const HEAD_EVERY_MS = 1000;

const oneShotHash = (crypto as { hash?: (algorithm: string, data: Uint8Array) => string }).hash;
const sha256 = oneShotHash
  ? (data: Uint8Array) => oneShotHash('sha256', data)
  : (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');
/** Bytes of `{"hash":"<64>","prev":"<64>",` before a body's second byte. */
const CHAIN_HEAD = 149;

function runWriter(port: NonNullable<typeof parentPort>, data: AuditWriterData): void {
  const { file, headFile, state, rotateBytes } = data;
  const key = Buffer.from(data.key, 'hex');
  let prev = data.prev;
  let seq = data.seq;
  let fd = openSync(file, 'a', 0o600);
  let size = data.size;
  let nextRotated = data.nextRotated;
  let headAt = 0;
  let scratch = Buffer.allocUnsafe(4096);

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
    if ('bytes' in msg) {
      const bytes = Buffer.from(msg.bytes.buffer, msg.bytes.byteOffset, msg.bytes.byteLength);
      // Each line keeps its bytes (less the opening brace), after the hash and prev members.
      const out = Buffer.allocUnsafe(bytes.length + msg.lines * CHAIN_HEAD);
      let n = 0;
      for (let at = 0; at < bytes.length; ) {
        const end = bytes.indexOf(10, at);
        // sha256(prev ‖ body): prev's hex and the body's bytes side by side in one scratch buffer.
        const hashed = 64 + end - at;
        if (scratch.length < hashed) scratch = Buffer.allocUnsafe(hashed * 2);
        scratch.write(prev, 0, 'latin1');
        bytes.copy(scratch, 64, at, end);
        const hash = sha256(scratch.subarray(0, hashed));
        n += out.write(`{"hash":"${hash}","prev":"${prev}",`, n, 'latin1');
        n += bytes.copy(out, n, at + 1, end + 1);
        prev = hash;
        at = end + 1;
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
