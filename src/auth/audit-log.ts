import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as crypto from 'node:crypto';
import canonicalize from 'canonicalize';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic-file.js';
import { sha256Hex } from './token-store.js';
import type { Verb } from './verbs.js';

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
  | 'throttled';

/** What is recorded; `seq`, `time`, `prev` and `hash` are added by the log. */
export interface AuditEvent {
  readonly event: 'call' | 'auth';
  readonly principal: string;
  readonly token_id?: string;
  readonly transport?: string;
  readonly remote?: string;
  readonly path?: string;
  readonly verbs?: readonly Verb[];
  readonly outcome: AuditOutcome;
  readonly duration_ms?: number;
  readonly items?: number;
  readonly code?: number;
  /** Already redacted (see redact.ts). */
  readonly params?: unknown;
  readonly reason?: string;
}

export interface AuditRecord extends AuditEvent {
  readonly seq: number;
  readonly time: string;
  readonly prev: string;
  readonly hash: string;
}

/** `prev` of the first record. */
export const GENESIS = '0'.repeat(64);
/** How often the head file (last seq and hash, to detect a cut tail) is rewritten at most. */
const HEAD_INTERVAL_MS = 1000;
/**
 * Records wait at most this long (or until FLUSH_LINES are pending) before one
 * write: a write per call would cost a syscall per call. On close and at exit they
 * are written at once; a crash loses at most this window.
 */
const FLUSH_MS = 5;
const FLUSH_LINES = 512;

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;

/** `hash = sha256(prev ‖ canonical(record without hash))`, hex. */
export function chainHash(prev: string, canonicalBody: string): string {
  // The one-shot form (Node >= 20.12) costs a third of createHash() per record.
  return oneShotHash ? oneShotHash('sha256', prev + canonicalBody) : sha256Hex(prev + canonicalBody);
}

const INDEX_KEY = /^(0|[1-9]\d*)$/;

/**
 * True when JSON.stringify would not emit RFC 8785 form for `value`: it orders
 * integer-like keys numerically, and writes non-finite numbers as null.
 */
function needsGeneralForm(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return typeof value === 'number' && !Number.isFinite(value);
  if (depth > 16) return true;
  if (Array.isArray(value)) return value.some((v) => needsGeneralForm(v, depth + 1));
  for (const k in value) {
    if (INDEX_KEY.test(k) || needsGeneralForm((value as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
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

export function headFileOf(file: string): string {
  return `${file}.head`;
}

/**
 * An append-only JSONL audit log whose records are chained by SHA-256, so editing,
 * removing or reordering lines breaks the chain (`hub audit verify`). Lines are
 * written in batches (every FLUSH_MS); the chain continues across restarts.
 */
export class AuditLog {
  readonly file: string;
  #fd: number;
  #seq = 0;
  #prev = GENESIS;
  #pending: string[] = [];
  #flushTimer?: NodeJS.Timeout;
  #headWrittenAt = 0;
  #headTimer?: NodeJS.Timeout;
  /** A head write in flight (off the event loop); the next waits for it so they land in order. */
  #headWrite: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(file: string) {
    this.file = file;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.#fd = openSync(file, 'a+', 0o600);
    this.#resume();
  }

  get seq(): number {
    return this.#seq;
  }

  get lastHash(): string {
    return this.#prev;
  }

  /** Appends one record; returns its `seq` (the audit id callers see). */
  append(event: AuditEvent): number {
    if (this.#closed) return 0;
    const seq = ++this.#seq;
    // Fields in canonical (sorted) order, so JSON.stringify emits RFC 8785 form directly
    // (it leaves out undefined ones); params from redact() have sorted keys already.
    const e = event;
    const record = {
      code: e.code,
      duration_ms: e.duration_ms,
      event: e.event,
      items: e.items,
      outcome: e.outcome,
      params: e.params,
      path: e.path,
      prev: this.#prev,
      principal: e.principal,
      reason: e.reason,
      remote: e.remote,
      seq,
      time: isoNow(),
      token_id: e.token_id,
      transport: e.transport,
      verbs: e.verbs,
    };
    const body = needsGeneralForm(e.params) ? canonicalize(JSON.parse(JSON.stringify(record)))! : JSON.stringify(record);
    const hash = chainHash(this.#prev, body);
    this.#prev = hash;
    // `hash` first, then the canonical body's fields: the verifier drops `hash` and re-canonicalises.
    this.#pending.push(`{"hash":"${hash}",${body.slice(1)}\n`);
    if (this.#pending.length >= FLUSH_LINES) this.flush();
    else if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
      this.#flushTimer.unref();
    }
    return seq;
  }

  /** Writes pending lines now. */
  flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#pending.length === 0 || this.#closed) return;
    const text = this.#pending.join('');
    this.#pending = [];
    writeSync(this.#fd, text);
    this.#maybeWriteHead();
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    clearTimeout(this.#headTimer);
    this.#headWrittenAt = Date.now();
    writeFileAtomic(headFileOf(this.file), this.#headText());
    this.#closed = true;
    closeSync(this.#fd);
  }

  #maybeWriteHead(): void {
    const wait = this.#headWrittenAt + HEAD_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.#writeHeadSoon();
    if (!this.#headTimer) {
      this.#headTimer = setTimeout(() => {
        this.#headTimer = undefined;
        if (!this.#closed) this.#writeHeadSoon();
      }, wait);
      this.#headTimer.unref();
    }
  }

  #headText(): string {
    return `${JSON.stringify({ seq: this.#seq, hash: this.#prev })}\n`;
  }

  /**
   * Rewrites the head file in the thread pool: an fsync on the event loop would
   * stall every connection of the hub for as long as the disk takes.
   */
  #writeHeadSoon(): void {
    this.#headWrittenAt = Date.now();
    const text = this.#headText();
    const file = headFileOf(this.file);
    this.#headWrite = this.#headWrite.then(() => writeFileAtomicAsync(file, text)).catch(() => {
      /* the next write (or close) tries again; the log itself is intact */
    });
  }

  /** Continues the chain from the last complete record of an existing log. */
  #resume(): void {
    const size = fstatSync(this.#fd).size;
    if (size === 0) return;
    const chunk = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(chunk);
    readSync(this.#fd, buf, 0, chunk, size - chunk);
    const text = buf.toString('utf8');
    // A torn last line (a crash mid-write) stays as it is, for verify to report; new records start on a fresh line.
    if (!text.endsWith('\n')) writeSync(this.#fd, '\n');
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
    throw new Error(`Audit log ${this.file}: no valid record in its last ${chunk} bytes; move it aside to start a new chain`);
  }
}
