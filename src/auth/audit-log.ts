import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as crypto from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Worker } from 'node:worker_threads';
import { chainFiles, DEFAULT_ROTATE_BYTES, rotatedNumbers } from './audit-files.js';
import { createAuditKey, headFileOf, keyFileOf, readAuditKey, readHead, writeHead } from './audit-head.js';
import { lockAuditLog } from './audit-lock.js';
import { RefusalSummary, SUMMARISED_OUTCOMES, type RefusalSummaryOptions } from './audit-summary.js';
import type { AuditWriterMessage } from './audit-worker.js';
import { startAuditWriter } from './audit-writer.js';
import { sha256Hex } from './token-store.js';
import type { Verb } from '../activation/verbs.js';

export type AuditOutcome =
  /** The call ran and ended with `done`. */
  | 'ok'
  /** The call ended with an error item (not found, invalid params, the method threw). */
  | 'error'
  /** The router refused it: the principal may not see or use the path. */
  | 'denied'
  /** No valid credential on the connection. */
  | 'unauthenticated'
  /** The caller went away before the end. */
  | 'cancelled'
  /** A presented credential was wrong (unknown, revoked, expired, another hub's). */
  | 'auth_failed'
  /** Too many failed authentications from this address: refused without checking. */
  | 'throttled'
  /** An enrollment code was redeemed for an agent's token (`event: 'enroll'`). */
  | 'redeemed'
  /** An execute call is waiting for the owner's approval (`approval` events, with `approved`, `denied`). */
  | 'requested'
  /** The owner approved a pending call (or an approval window let an identical one through). */
  | 'approved'
  /** The pending call was cancelled, or its token revoked, before the owner decided. */
  | 'withdrawn'
  /** Nobody decided before the pending call's deadline. */
  | 'expired'
  /**
   * An enrollment code was refused: unknown, spent, expired, revoked (`event: 'enroll'`; the code is never recorded);
   * or an execute call refused without asking (`event: 'approval'`): too many wait already, or no owner channel.
   */
  | 'refused';

/** What is recorded; `seq`, `time`, `prev` and `hash` are added by the log. */
export interface AuditEvent {
  readonly event: 'call' | 'auth' | 'join' | 'enroll' | 'approval' | 'source.install' | 'source.remove';
  readonly principal: string;
  readonly token_id?: string;
  readonly transport?: string;
  readonly remote?: string;
  readonly path?: string;
  readonly verbs?: readonly Verb[];
  readonly outcome: AuditOutcome;
  readonly duration_ms?: number;
  readonly items?: number;
  readonly code?: number | string;
  /** Already redacted (see redact.ts). */
  readonly params?: unknown;
  readonly reason?: string;
  /** Summarised refusals (audit-summary.ts): how many this record stands for. */
  readonly count?: number;
  /** `approval` events: the pending call's id, the window an approval opened, who decided. */
  readonly approval_id?: string;
  readonly window_ms?: number;
  readonly decided_by?: string;
}

export interface AuditLogOptions {
  /** Rotate the current file once it reaches this many bytes (default 64 MiB). */
  readonly rotateBytes?: number;
  /** The key that authenticates the head (default `audit.key` beside the log). */
  readonly keyFile?: string;
  /** How refusals of callers without a credential are summarised. */
  readonly refusals?: RefusalSummaryOptions;
}

/** A record's canonical body: what is hashed (everything but `prev` and `hash`). */
type AuditBody = AuditEvent & { readonly seq: number; readonly time: string };

export interface AuditRecord extends AuditEvent {
  readonly seq: number;
  readonly time: string;
  readonly prev: string;
  readonly hash: string;
}

/**
 * The hash of record `seq` in the chain of `file` (GENESIS for 0), looked for from the
 * newest file back; only at start, and it is near the end (a head lags by a second).
 */
function hashAt(file: string, seq: number): string | undefined {
  if (seq === 0) return GENESIS;
  const needle = `"seq":${seq},`;
  for (const part of chainFiles(file).reverse()) {
    let text: string;
    try {
      text = readFileSync(part, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes(needle)) continue;
      try {
        const r = JSON.parse(line) as Partial<AuditRecord>;
        if (r.seq === seq) return r.hash;
      } catch {
        /* torn: not it */
      }
    }
  }
  return undefined;
}

/** `prev` of the first record. */
export const GENESIS = '0'.repeat(64);
/**
 * Records wait at most this long (or until FLUSH_LINES are pending) before they go
 * to the writer thread as one batch. On close and at exit they are written at once;
 * a crash loses at most this window.
 */
const FLUSH_MS = 20;
const FLUSH_LINES = 512;
/** The batch is encoded into a buffer of this size as records come (a bigger record grows it). */
const BATCH_BYTES = 256 * 1024;

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;

/** `hash = sha256(prev ‖ canonical(record))`, hex; the record is the line without `prev` and `hash`. */
export function chainHash(prev: string, canonicalBody: string): string {
  // The one-shot form (Node >= 20.12) costs a third of createHash() per record.
  return oneShotHash ? oneShotHash('sha256', prev + canonicalBody) : sha256Hex(prev + canonicalBody);
}

const INDEX_KEY = /^(0|[1-9]\d*)$/;

/**
 * True when JSON.stringify would not emit RFC 8785 form for `value`: its keys are not
 * in sorted order (params that did not come from redact()), it orders integer-like keys
 * numerically, and writes non-finite numbers as null.
 */
function needsGeneralForm(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return typeof value === 'number' && !Number.isFinite(value);
  if (depth > 16) return true;
  if (Array.isArray(value)) return value.some((v) => needsGeneralForm(v, depth + 1));
  let previous = '';
  for (const k in value) {
    if (k < previous || INDEX_KEY.test(k) || needsGeneralForm((value as Record<string, unknown>)[k], depth + 1)) return true;
    previous = k;
  }
  return false;
}

/**
 * `value` as RFC 8785 JSON, the form a record's members take in its canonical body:
 * JSON.stringify's own output when that is already canonical (most params), else the
 * general form of what JSON.stringify keeps (non-finite numbers are null, as in a record).
 */
export function canonicalJson(value: unknown): string | undefined {
  return needsGeneralForm(value) ? canonicalize(JSON.parse(JSON.stringify(value) ?? 'null')) : JSON.stringify(value);
}

let isoMs = 0;
let isoText = '';
/** ISO time, remade only when the millisecond changes. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

export { headFileOf } from './audit-head.js';

/** The log cannot be continued: its end does not match its authenticated head, or the head is gone. */
export class AuditLogTamperedError extends Error {}

/**
 * An append-only JSONL audit log whose records are chained by SHA-256, so editing,
 * removing or reordering lines breaks the chain (`hub audit verify`). The chain
 * continues across restarts.
 *
 * The hub's thread only numbers each record and encodes it in canonical form into
 * the batch buffer; every FLUSH_MS the batch goes, as UTF-8 lines in one transferred
 * buffer, to a writer thread that hashes, chains and appends (audit-worker.ts). So a
 * call pays a microsecond or two for its record, and a slow disk never stalls the
 * event loop.
 *
 * One process writes a log at a time (audit-lock.ts). The head file is authenticated
 * with the data dir's audit key (audit-head.ts); a log whose end does not match its
 * head is not continued, since a new head would hide the cut. The writer rotates the
 * file by size (audit-files.ts); the chain runs on across the files.
 */
export class AuditLog {
  readonly file: string;
  readonly rotateBytes: number;
  #seq = 0;
  #prev = GENESIS;
  /**
   * Canonical bodies of the records not yet handed to the writer, UTF-8, one a line:
   * encoded as each is made, so a batch is never a string to join, flatten and copy.
   */
  #batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  #batchBytes = 0;
  #batchLines = 0;
  #flushTimer?: NodeJS.Timeout;
  readonly #state = new Int32Array(new SharedArrayBuffer(8));
  #writer?: Worker;
  #closed = false;
  readonly #key: Buffer;
  readonly #unlock: () => void;
  readonly #refusals: RefusalSummary;
  /** Bytes in the current file when it was opened. */
  #size = 0;

  constructor(file: string, options: AuditLogOptions = {}) {
    this.file = file;
    this.rotateBytes = options.rotateBytes ?? DEFAULT_ROTATE_BYTES;
    if (!(this.rotateBytes >= 1)) throw new Error(`Audit rotation size must be at least 1 byte, got ${this.rotateBytes}`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.#unlock = lockAuditLog(file);
    try {
      const keyFile = options.keyFile ?? keyFileOf(file);
      const fd = openSync(file, 'a+', 0o600);
      try {
        this.#size = fstatSync(fd).size;
        this.#resume(fd);
      } finally {
        closeSync(fd);
      }
      const key = readAuditKey(keyFile);
      if (!key && this.#seq > 0) {
        throw new AuditLogTamperedError(
          `Audit log ${file} has records but there is no audit key ${keyFile} to authenticate its head (deleted, or the log predates it): run \`hub audit verify\`, then move the log aside to start a new chain`,
        );
      }
      this.#key = key ?? createAuditKey(keyFile);
      this.#checkHead();
    } catch (err) {
      this.#unlock();
      throw err;
    }
    this.#refusals = new RefusalSummary((event) => this.#append(event), options.refusals);
    Atomics.store(this.#state, 0, this.#seq);
  }

  /**
   * The head must vouch for the end of the log as found: a missing head for a
   * non-empty log, a forged one, or one ahead of the log (lines cut from the end)
   * stops the hub rather than be papered over by the next head it writes. A head
   * behind the log is a crash between appending and rewriting the head.
   */
  #checkHead(): void {
    const head = readHead(this.file, this.#key);
    const advice = 'run `hub audit verify`; to start a new chain, move the log, its rotated files and its head aside';
    if (head.status === 'missing') {
      if (this.#seq > 0) throw new AuditLogTamperedError(`Audit log ${this.file} has records but no head file: ${advice}`);
      // Written before the first record, so a log never exists without its head.
      writeHead(headFileOf(this.file), this.#key, 0, GENESIS);
      return;
    }
    if (head.status === 'forged') throw new AuditLogTamperedError(`Audit log ${this.file}: ${head.reason}: ${advice}`);
    if (head.seq > this.#seq) {
      throw new AuditLogTamperedError(
        `Audit log ${this.file} ends at seq ${this.#seq} but its head records seq ${head.seq}: lines were removed from the end; ${advice}`,
      );
    }
    if (head.closed && head.seq < this.#seq) {
      throw new AuditLogTamperedError(
        `Audit log ${this.file}: records after seq ${head.seq}, where the hub closed it, were added by someone else; ${advice}`,
      );
    }
    // The record the head names must be the one in the log: a chain rewritten and made longer is not a crash.
    if (hashAt(this.file, head.seq) !== head.hash) {
      throw new AuditLogTamperedError(`Audit log ${this.file}: record ${head.seq} does not match its head; ${advice}`);
    }
    // Open again: records may follow (a crash before the next head is a lag, not an addition).
    writeHead(headFileOf(this.file), this.#key, head.seq, head.hash);
  }

  /** The writer thread, started on the first record (a hub that records nothing starts none). */
  #thread(): Worker {
    if (!this.#writer) {
      const rotated = rotatedNumbers(this.file);
      this.#writer = startAuditWriter({
        file: this.file,
        headFile: headFileOf(this.file),
        key: this.#key.toString('hex'),
        state: this.#state,
        prev: this.#prev,
        seq: this.#seq,
        size: this.#size,
        rotateBytes: this.rotateBytes,
        nextRotated: (rotated.at(-1) ?? 0) + 1,
      });
      this.#writer.unref();
      this.#writer.on('error', (err) => process.stderr.write(`plexus-hub: audit log writer failed: ${err.message}\n`));
    }
    return this.#writer;
  }

  /** The seq of the last record appended (its id). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Appends one record; returns its `seq` (the audit id callers see). Refusals of
   * callers without a credential are summarised instead (0 when only counted).
   */
  append(event: AuditEvent): number {
    if (this.#closed) return 0;
    if (SUMMARISED_OUTCOMES.has(event.outcome)) return this.#refusals.add(event);
    return this.#append(event);
  }

  #append(event: AuditEvent): number {
    if (this.#closed) return 0;
    const seq = ++this.#seq;
    // Fields in canonical (sorted) order, so JSON.stringify emits RFC 8785 form directly
    // (it leaves out undefined ones); params from redact() have sorted keys already.
    const e = event;
    const record: AuditBody = {
      approval_id: e.approval_id,
      code: e.code,
      count: e.count,
      decided_by: e.decided_by,
      duration_ms: e.duration_ms,
      event: e.event,
      items: e.items,
      outcome: e.outcome,
      params: e.params,
      path: e.path,
      principal: e.principal,
      reason: e.reason,
      remote: e.remote,
      seq,
      time: isoNow(),
      token_id: e.token_id,
      transport: e.transport,
      verbs: e.verbs,
      window_ms: e.window_ms,
    };
    this.#queue(needsGeneralForm(e.params) ? canonicalize(JSON.parse(JSON.stringify(record)))! : JSON.stringify(record));
    return seq;
  }

  /**
   * Appends a record given as canonical text (for the hot path: a call's record is made
   * from parts that are constant per caller and route, not from an object serialised
   * per call). Its body is `{<before>"seq":<seq>,"time":"<time>"<after>}`: `before`
   * holds the members that sort before `seq`, each followed by a comma, `after` those
   * that sort after `time`, each preceded by one, all in canonical (RFC 8785) form. It
   * is not summarised: refusals go through `append`. Returns the record's seq.
   */
  appendCanonical(before: string, after: string): number {
    if (this.#closed) return 0;
    const seq = ++this.#seq;
    this.#queue(`{${before}"seq":${seq},"time":"${isoNow()}"${after}}`);
    return seq;
  }

  #queue(body: string): void {
    // A UTF-16 unit takes at most 3 bytes in UTF-8; the newline one more.
    const most = body.length * 3 + 1;
    if (this.#batchBytes + most > this.#batch.length) {
      this.#post();
      if (most > this.#batch.length) this.#batch = Buffer.allocUnsafeSlow(most);
    }
    // JSON text never holds a raw newline (nor does UTF-8 put one inside a character),
    // so the bodies travel as lines: the writer hashes each as it is, with no parse
    // and no second serialisation.
    const batch = this.#batch;
    const at = this.#batchBytes + batch.write(body, this.#batchBytes, 'utf8');
    batch[at] = 10;
    this.#batchBytes = at + 1;
    if (++this.#batchLines >= FLUSH_LINES) this.#post();
    else if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => this.#post(), FLUSH_MS);
      this.#flushTimer.unref();
    }
  }

  /** Hands the batch to the writer without waiting: its bytes are copied once and the copy transferred, not cloned. */
  #post(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#batchLines === 0) return;
    const bytes = new Uint8Array(this.#batchBytes);
    bytes.set(this.#batch.subarray(0, this.#batchBytes));
    const lines = this.#batchLines;
    this.#batchBytes = 0;
    this.#batchLines = 0;
    this.#thread().postMessage({ bytes, lines, seq: this.#seq } satisfies AuditWriterMessage, [bytes.buffer]);
  }

  /** Writes every record appended so far, and returns once they are in the file. */
  flush(timeoutMs = 10_000): void {
    if (this.#closed) return;
    this.#post();
    const until = Date.now() + timeoutMs;
    for (;;) {
      const written = Atomics.load(this.#state, 0);
      if (written >= this.#seq || Date.now() > until) return;
      Atomics.wait(this.#state, 0, written, until - Date.now());
    }
  }

  /** Writes what is pending and the head file, then stops the writer (blocks until done; safe in an exit handler). */
  close(): void {
    if (this.#closed) return;
    this.#refusals.flush();
    this.#post();
    this.#closed = true;
    const writer = this.#writer;
    if (writer) {
      writer.postMessage({ close: true } satisfies AuditWriterMessage);
      Atomics.wait(this.#state, 1, 0, 10_000);
      void writer.terminate();
    }
    this.#unlock();
  }

  /**
   * Continues the chain from the last complete record: of the current file, or, when
   * it is empty (just rotated), of the newest rotated file.
   */
  #resume(fd: number): void {
    if (fstatSync(fd).size > 0) return this.#resumeFrom(fd, this.file);
    const previous = chainFiles(this.file).at(-2);
    if (previous === undefined) return;
    const pfd = openSync(previous, 'r');
    try {
      this.#resumeFrom(pfd, previous, false);
    } finally {
      closeSync(pfd);
    }
  }

  #resumeFrom(fd: number, file: string, writable = true): void {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const chunk = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(chunk);
    readSync(fd, buf, 0, chunk, size - chunk);
    const text = buf.toString('utf8');
    // A torn last line (a crash mid-write) stays as it is, for verify to report; new records start on a fresh line.
    if (!text.endsWith('\n') && writable) {
      writeSync(fd, '\n');
      this.#size++;
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const r = JSON.parse(lines[i]!) as Partial<AuditRecord>;
        if (typeof r.seq === 'number' && typeof r.hash === 'string') {
          this.#seq = r.seq;
          this.#prev = r.hash;
          return;
        }
      } catch {
        /* torn or foreign line: look further back */
      }
    }
    throw new Error(`Audit log ${file}: no valid record in its last ${chunk} bytes; move it aside to start a new chain`);
  }
}
