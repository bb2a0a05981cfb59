import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import canonicalize from 'canonicalize';
import { chainFiles } from './audit-files.js';
import { keyFileOf, readAuditKey, readHead } from './audit-head.js';
import { chainHash, GENESIS } from './audit-log.js';

export type AuditVerdict =
  | { readonly ok: true; readonly records: number; readonly lastHash: string }
  | {
      readonly ok: false;
      readonly records: number;
      /** The line of `file` (1-based) where it fails; one past the end for a failure of the whole chain. */
      readonly line: number;
      readonly reason: string;
      /** The file of the chain where it fails (the log itself, or one of its rotated files). */
      readonly file?: string;
    };

/** A record the owner noted elsewhere (`hub audit verify --expect <seq>:<hash>`). */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
}

export interface VerifyOptions {
  /** The audit key (default `audit.key` beside the log). */
  readonly keyFile?: string;
  /** The chain must contain this record. */
  readonly expect?: AuditAnchor;
}

/** Parses `<seq>:<hash>`, as `hub audit verify` prints it. */
export function parseAnchor(text: string): AuditAnchor {
  const m = /^([1-9]\d*):([0-9a-f]{64})$/.exec(text.trim());
  if (!m) throw new Error(`Invalid anchor "${text}": expected <seq>:<64 hex digits>, as \`hub audit verify\` prints it`);
  return { seq: Number(m[1]), hash: m[2]! };
}

/**
 * Walks the chain from the first line of the oldest rotated file to the end of the
 * log: every line must parse, carry the next `seq`, point at the previous line's
 * hash, and hash to what it says. The first line that does not is reported. Then the
 * end must match the head file, authenticated with the audit key (lines cut from the
 * end, or a head rewritten without the key), and the chain must hold the anchor, if
 * one is given (what the head cannot show: a rewrite by whoever holds the key).
 */
export async function verifyAuditLog(file: string, options: VerifyOptions = {}): Promise<AuditVerdict> {
  const files = chainFiles(file);
  if (!existsSync(file) && files.length === 1) return { ok: false, records: 0, line: 0, reason: `no audit log at ${file}` };
  const keyFile = options.keyFile ?? keyFileOf(file);
  let key: Buffer | undefined;
  try {
    key = readAuditKey(keyFile);
  } catch (err) {
    return { ok: false, records: 0, line: 0, reason: (err as Error).message };
  }
  const head = key ? readHead(file, key) : undefined;
  let records = 0;
  let prev = GENESIS;
  let seq = 0;
  /** The hashes the head and the anchor name, as met on the way. */
  const seen = new Map<number, string>();
  const wanted = new Set([head?.status === 'ok' ? head.seq : 0, options.expect?.seq ?? 0]);
  let n = 0;
  let current = file;
  const fail = (reason: string, line = n): AuditVerdict => ({
    ok: false,
    records,
    line,
    reason,
    file: current,
  });
  for (const part of files) {
    current = part;
    n = 0;
    if (!existsSync(part)) continue; // the current file, just after a rotation
    const lines = createInterface({ input: createReadStream(part, 'utf8'), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        n++;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return fail('not a JSON record (edited or torn)');
        }
        if (typeof record !== 'object' || record === null || Array.isArray(record)) return fail('not a JSON object');
        const { hash, prev: linePrev, ...body } = record;
        if (body.seq !== seq + 1) return fail(`seq is ${String(body.seq)}, expected ${seq + 1} (a line was removed or moved)`);
        if (linePrev !== prev) return fail('prev does not match the hash of the line before (a line was removed or moved)');
        if (typeof hash !== 'string' || chainHash(prev, canonicalize(body)!) !== hash) {
          return fail('hash does not match the record (the line was edited)');
        }
        prev = hash;
        seq = body.seq as number;
        if (wanted.has(seq)) seen.set(seq, hash);
        records++;
      }
    } finally {
      lines.close();
    }
  }
  current = file;
  const end = n + 1;
  if (records > 0) {
    if (!key) return fail(`there is no audit key ${keyFile}: the head cannot be authenticated`, end);
    if (head!.status === 'missing') return fail('the head file is missing: lines may have been removed from the end', end);
    if (head!.status === 'forged') return fail(`${head!.reason}: it cannot vouch for the end of the log`, end);
  }
  if (head?.status === 'ok') {
    if (head.seq > seq) {
      return fail(`the log ends at seq ${seq} but the hub recorded seq ${head.seq}: lines were removed from the end`, end);
    }
    if (head.seq > 0 && seen.get(head.seq) !== head.hash) return fail(`record ${head.seq} does not match the head file`, end);
    if (head.closed && seq > head.seq) {
      return fail(`records after seq ${head.seq}, where the hub closed the log, were added by someone else`, end);
    }
  }
  const anchor = options.expect;
  if (anchor) {
    if (anchor.seq > seq)
      return fail(`the log ends at seq ${seq} but the anchor is seq ${anchor.seq}: lines were removed from the end`, end);
    if (seen.get(anchor.seq) !== anchor.hash) {
      return fail(`record ${anchor.seq} does not match the anchor: the chain was rewritten from there or before`, end);
    }
  }
  return { ok: true, records, lastHash: prev };
}
