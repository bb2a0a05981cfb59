import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import canonicalize from 'canonicalize';
import { chainHash, GENESIS, headFileOf } from './audit-log.js';

export type AuditVerdict =
  | { readonly ok: true; readonly records: number; readonly lastHash: string }
  | { readonly ok: false; readonly records: number; readonly line: number; readonly reason: string };

/**
 * Walks the chain from the first line: every line must parse, carry the next
 * `seq`, point at the previous line's hash, and hash to what it says. The first
 * line that does not is reported. The head file (written by the hub) catches lines
 * cut from the end.
 */
export async function verifyAuditLog(file: string): Promise<AuditVerdict> {
  if (!existsSync(file)) return { ok: false, records: 0, line: 0, reason: `no audit log at ${file}` };
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  let records = 0;
  let prev = GENESIS;
  let seq = 0;
  const fail = (reason: string): AuditVerdict => {
    lines.close();
    return { ok: false, records, line: n, reason };
  };
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
    records++;
  }
  const head = readHead(file);
  if (head && (head.seq > seq || (head.seq === seq && head.hash !== prev))) {
    return {
      ok: false,
      records,
      line: n + 1,
      reason: `the log ends at seq ${seq} but the hub recorded seq ${head.seq}: lines were removed from the end`,
    };
  }
  return { ok: true, records, lastHash: prev };
}

function readHead(file: string): { seq: number; hash: string } | undefined {
  try {
    return JSON.parse(readFileSync(headFileOf(file), 'utf8')) as { seq: number; hash: string };
  } catch {
    return undefined;
  }
}
