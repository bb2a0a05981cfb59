/**
 * The audit log's head file and the key that authenticates it. The head holds the
 * chain's last `seq` and `hash`, so lines cut from the end are seen; its `mac` is
 * an HMAC-SHA256 over both with a key kept beside the token store (`audit.key`,
 * owner-only), so whoever can edit the log and its head but cannot read that key
 * cannot write a head that matches a trimmed log.
 *
 * Imports only Node built-ins: the writer thread (audit-worker.ts) uses it too.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The key's file name, in the data dir beside tokens.json. */
export const AUDIT_KEY_FILE = 'audit.key';

export function headFileOf(file: string): string {
  return `${file}.head`;
}

/** Where the key of the log `file` lives by default: the log's own directory (the data dir). */
export function keyFileOf(file: string): string {
  return join(dirname(file), AUDIT_KEY_FILE);
}

/** The key, or undefined when its file does not exist. Refuses a key others may read. */
export function readAuditKey(keyFile: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(keyFile, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (process.platform !== 'win32' && (statSync(keyFile).mode & 0o077) !== 0) {
    throw new Error(`Audit key ${keyFile} is readable by others: chmod 600 it (whoever reads it can forge the audit head)`);
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`Audit key ${keyFile} is not 64 hex digits`);
  return Buffer.from(text, 'hex');
}

/** Creates a fresh random key (owner-only, never replacing one that exists) and returns it. */
export function createAuditKey(keyFile: string): Buffer {
  const key = randomBytes(32);
  const fd = openSync(keyFile, 'wx', 0o600);
  try {
    writeSync(fd, `${key.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

/**
 * HMAC-SHA256 over the head's fields, hex; the label keeps it from meaning anything
 * else. `closed`: the hub closed the log here, so nothing may follow this record.
 */
export function headMac(key: Buffer, seq: number, hash: string, closed = false): string {
  return createHmac('sha256', key)
    .update(`plexus-hub audit head\n${seq}\n${hash}${closed ? '\nclosed' : ''}`)
    .digest('hex');
}

/** Replaces the head file atomically (temp, fsync, rename). */
export function writeHead(headFile: string, key: Buffer, seq: number, hash: string, closed = false): void {
  const tmp = `${headFile}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    const head = closed ? { seq, hash, closed, mac: headMac(key, seq, hash, true) } : { seq, hash, mac: headMac(key, seq, hash) };
    writeSync(fd, `${JSON.stringify(head)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, headFile);
}

export type HeadState =
  | { readonly status: 'ok'; readonly seq: number; readonly hash: string; readonly closed: boolean }
  | { readonly status: 'missing' }
  /** Unreadable, or its MAC does not match: forged, or written with another key. */
  | { readonly status: 'forged'; readonly reason: string };

/** Reads and authenticates the head of `file`. */
export function readHead(file: string, key: Buffer): HeadState {
  let text: string;
  try {
    text = readFileSync(headFileOf(file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    throw err;
  }
  let head: { seq?: unknown; hash?: unknown; mac?: unknown; closed?: unknown };
  try {
    head = JSON.parse(text) as typeof head;
  } catch {
    return { status: 'forged', reason: 'the head file is not JSON' };
  }
  const { seq, hash, mac } = head ?? {};
  const closed = head?.closed === true;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
    return { status: 'forged', reason: 'the head file lacks a seq and hash' };
  }
  if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return { status: 'forged', reason: 'the head file has no MAC' };
  const expected = Buffer.from(headMac(key, seq, hash, closed), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(mac, 'hex'))) {
    return { status: 'forged', reason: 'the head file MAC does not match (written without the audit key)' };
  }
  return { status: 'ok', seq, hash, closed };
}
