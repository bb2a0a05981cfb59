import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import canonicalize from 'canonicalize';
import { writeFileAtomic } from './atomic-file.js';
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

/** `hash = sha256(prev ‖ canonical(record without hash))`, hex. */
export function chainHash(prev: string, canonicalBody: string): string {
  return sha256Hex(prev + canonicalBody);
}

export function headFileOf(file: string): string {
  return `${file}.head`;
}

/**
 * An append-only JSONL audit log whose records are chained by SHA-256, so editing,
 * removing or reordering lines breaks the chain (`hub audit verify`). Lines are
 * written in batches once per event-loop turn; the chain continues across restarts.
 */
export class AuditLog {
  readonly file: string;
  #fd: number;
  #seq = 0;
  #prev = GENESIS;
  #pending: string[] = [];
  #scheduled = false;
  #headWrittenAt = 0;
  #headTimer?: NodeJS.Timeout;
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
    const body = canonicalize({ ...event, seq, time: new Date().toISOString(), prev: this.#prev })!;
    const hash = chainHash(this.#prev, body);
    this.#prev = hash;
    // `hash` first, then the canonical body's fields: the verifier drops `hash` and re-canonicalises.
    this.#pending.push(`{"hash":"${hash}",${body.slice(1)}\n`);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return seq;
  }

  /** Writes pending lines now. */
  flush(): void {
    this.#scheduled = false;
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
    this.#writeHead();
    this.#closed = true;
    closeSync(this.#fd);
  }

  #maybeWriteHead(): void {
    const wait = this.#headWrittenAt + HEAD_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.#writeHead();
    if (!this.#headTimer) {
      this.#headTimer = setTimeout(() => {
        this.#headTimer = undefined;
        if (!this.#closed) this.#writeHead();
      }, wait);
      this.#headTimer.unref();
    }
  }

  #writeHead(): void {
    this.#headWrittenAt = Date.now();
    writeFileAtomic(headFileOf(this.file), `${JSON.stringify({ seq: this.#seq, hash: this.#prev })}\n`);
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
