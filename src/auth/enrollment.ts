import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock, writeFileAtomic } from './atomic-file.js';
import { checkPattern, type Grant } from './grants.js';
import { sha256Hex, type TokenRecord, type TokenStore } from './token-store.js';

/**
 * One-time enrollment codes (agent-gateway §2): the owner creates a short-lived code
 * for an agent (`hub agent enroll <name>`), the agent redeems it once over the wire
 * (`_enroll` on the WebSocket, `POST /enroll`) and receives its own durable token,
 * bound to its name. Only the code's SHA-256 is stored; the code is spent by its
 * first redemption.
 */

export const ENROLLMENT_FILE = 'enrollments.json';
/** A code expires this long after it was created unless `--expires` says otherwise. */
export const DEFAULT_ENROLLMENT_TTL_MS = 10 * 60_000;
/** Crockford's base32: no I, L, O or U, so a code read aloud or retyped is not misread. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Symbols of a code: 12 × 5 bits = 60 bits, typed as three groups of four (`ABCD-EFGH-JKMN`). */
const CODE_SYMBOLS = 12;
export const ENROLLMENT_CODE_BITS = CODE_SYMBOLS * 5;
/** Agent names are principal names and file names (`agents/<name>.json`): no path separators. */
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export interface EnrollmentRecord {
  /** Public handle for listings and the audit log (`enr_…`). */
  readonly id: string;
  /** The agent the redeemed token will belong to. */
  readonly agent: string;
  /** The root hub name the token will be issued for; another hub refuses the code. */
  readonly hub: string;
  /** Hex SHA-256 of the normalized code. */
  readonly sha256: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** The grants the agent's token will carry. */
  readonly grants: readonly Grant[];
  readonly redeemedAt?: number;
  /** The token issued by the redemption. */
  readonly tokenId?: string;
  readonly revokedAt?: number;
}

interface EnrollmentFile {
  readonly version: 1;
  readonly codes: readonly EnrollmentRecord[];
}

/** Why a redemption was refused: recorded in the audit log, never told to the caller (one error for all). */
export type EnrollmentRefusal = 'malformed' | 'unknown' | 'spent' | 'expired' | 'revoked' | 'other_hub' | 'agent_exists';

export type Redemption =
  | { readonly ok: true; readonly token: string; readonly record: TokenRecord; readonly enrollment: EnrollmentRecord }
  | { readonly ok: false; readonly reason: EnrollmentRefusal; readonly agent?: string };

export type EnrollmentStatus = 'pending' | 'redeemed' | 'expired' | 'revoked';

export function enrollmentStatus(e: EnrollmentRecord, now = Date.now()): EnrollmentStatus {
  if (e.redeemedAt !== undefined) return 'redeemed';
  if (e.revokedAt !== undefined) return 'revoked';
  return now >= e.expiresAt ? 'expired' : 'pending';
}

/** A new random code, `XXXX-XXXX-XXXX` in Crockford base32 (60 bits). */
export function newEnrollmentCode(): string {
  let code = '';
  for (let i = 0; i < CODE_SYMBOLS; i++) {
    if (i > 0 && i % 4 === 0) code += '-';
    code += ALPHABET[randomInt(32)];
  }
  return code;
}

/**
 * The canonical form of a typed code, or undefined when it cannot be one: case and
 * separators (`-`, spaces) do not matter, and the letters Crockford reads as digits
 * (O → 0, I and L → 1) are read so.
 */
export function normalizeEnrollmentCode(typed: string): string | undefined {
  if (typed.length > 64) return undefined;
  const code = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (code.length !== CODE_SYMBOLS || [...code].some((c) => !ALPHABET.includes(c))) return undefined;
  return code;
}

export function checkAgentName(name: string): void {
  if (!AGENT_NAME.test(name))
    throw new Error(`Invalid agent name "${name}": letters, digits, _ . @ - (at most 64), starting with a letter or digit`);
}

/** A token that makes `agent` live: issued to it, not revoked, not expired. */
function liveAgentToken(t: TokenRecord, agent: string, now: number): boolean {
  return t.agent === agent && t.revokedAt === undefined && (t.expiresAt === undefined || now < t.expiresAt);
}

/**
 * The enrollment codes of a data dir (`enrollments.json`, owner-only, replaced
 * atomically and locked for read-modify-write like `tokens.json`), and the
 * redemption that turns a code into an agent's token in `tokens`.
 */
export class EnrollmentStore {
  readonly file: string;

  constructor(
    dataDir: string,
    readonly tokens: TokenStore,
  ) {
    this.file = join(dataDir, ENROLLMENT_FILE);
  }

  records(): readonly EnrollmentRecord[] {
    return this.#read().codes;
  }

  /**
   * Creates a code for `agent`; the returned code is shown once and never stored.
   * Refused while the agent has a live token or a pending code: an agent name
   * stands for one agent (revoke it first to enroll it again).
   */
  create(input: { agent: string; hub: string; grants: readonly Grant[]; ttlMs?: number; now?: number }): {
    code: string;
    record: EnrollmentRecord;
  } {
    checkAgentName(input.agent);
    const now = input.now ?? Date.now();
    const ttlMs = input.ttlMs ?? DEFAULT_ENROLLMENT_TTL_MS;
    if (!(ttlMs > 0)) throw new Error('An enrollment code must expire after a positive duration');
    if (this.tokens.records().some((t) => liveAgentToken(t, input.agent, now)))
      throw new Error(`Agent "${input.agent}" is already enrolled: revoke it first (hub agent revoke ${input.agent})`);
    const code = newEnrollmentCode();
    const record: EnrollmentRecord = {
      id: `enr_${randomBytes(6).toString('hex')}`,
      agent: input.agent,
      hub: input.hub,
      sha256: sha256Hex(normalizeEnrollmentCode(code)!),
      createdAt: now,
      expiresAt: now + ttlMs,
      grants: input.grants,
    };
    this.#update((codes) => {
      if (codes.some((c) => c.agent === input.agent && enrollmentStatus(c, now) === 'pending'))
        throw new Error(`Agent "${input.agent}" has a pending enrollment code: revoke it first (hub agent revoke ${input.agent})`);
      return [...codes, record];
    });
    return { code, record };
  }

  /**
   * Redeems `typed` for hub `hub`: on success the code is spent and the agent's token
   * issued. The whole check-and-spend runs under the file's lock, and the code is
   * marked spent before the token is written, so two redemptions racing (in one
   * process or several) give exactly one token, and a crash in between fails closed.
   */
  redeem(typed: string, hub: string, now = Date.now()): Redemption {
    const code = normalizeEnrollmentCode(typed);
    if (code === undefined) return { ok: false, reason: 'malformed' };
    const hash = Buffer.from(sha256Hex(code), 'hex');
    const known = (c: EnrollmentRecord) => timingSafeEqual(Buffer.from(c.sha256, 'hex'), hash);
    // A guess (most refusals) is answered from a plain read: the file is replaced atomically, so
    // the read is consistent, and a guesser never takes the lock that `hub agent` and redemptions need.
    if (!this.#read().codes.some(known)) return { ok: false, reason: 'unknown' };
    return withFileLock(this.file, (): Redemption => {
      const codes = this.#read().codes;
      const at = codes.findIndex(known);
      const found = codes[at];
      if (!found) return { ok: false, reason: 'unknown' };
      const agent = found.agent;
      const status = enrollmentStatus(found, now);
      if (status === 'redeemed') return { ok: false, reason: 'spent', agent };
      if (status !== 'pending') return { ok: false, reason: status, agent };
      if (found.hub !== hub) return { ok: false, reason: 'other_hub', agent };
      if (this.tokens.records().some((t) => liveAgentToken(t, agent, now))) return { ok: false, reason: 'agent_exists', agent };
      const spent: EnrollmentRecord = { ...found, redeemedAt: now };
      this.#write(codes.map((c, i) => (i === at ? spent : c)));
      const { token, record } = this.tokens.create({ name: agent, hub, grants: found.grants, agent, now });
      const linked: EnrollmentRecord = { ...spent, tokenId: record.id };
      this.#write(codes.map((c, i) => (i === at ? linked : c)));
      return { ok: true, token, record, enrollment: linked };
    });
  }

  /** Revokes the agent's pending codes; returns them. */
  revoke(agent: string, now = Date.now()): EnrollmentRecord[] {
    const revoked: EnrollmentRecord[] = [];
    this.#update((codes) =>
      codes.map((c) => {
        if (c.agent !== agent || enrollmentStatus(c, now) !== 'pending') return c;
        const r = { ...c, revokedAt: now };
        revoked.push(r);
        return r;
      }),
    );
    return revoked;
  }

  #read(): EnrollmentFile {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, codes: [] };
      throw new Error(`Enrollment store ${this.file} is not readable JSON: ${(err as Error).message}`);
    }
    return validateFile(parsed, this.file);
  }

  #write(codes: readonly EnrollmentRecord[]): void {
    writeFileAtomic(this.file, `${JSON.stringify({ version: 1, codes }, null, 2)}\n`);
  }

  #update(change: (codes: readonly EnrollmentRecord[]) => readonly EnrollmentRecord[]): void {
    withFileLock(this.file, () => this.#write(change(this.#read().codes)));
  }
}

function validateFile(value: unknown, file: string): EnrollmentFile {
  const bad = (what: string): never => {
    throw new Error(`Enrollment store ${file}: ${what}`);
  };
  const v = value as Partial<EnrollmentFile> | null;
  if (typeof v !== 'object' || v === null || v.version !== 1 || !Array.isArray(v.codes)) bad('expected {"version": 1, "codes": [...]}');
  for (const c of v!.codes!) {
    if (typeof c?.id !== 'string' || typeof c.agent !== 'string' || typeof c.hub !== 'string') bad('a code lacks id, agent or hub');
    if (typeof c.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.sha256)) bad(`code ${c.id}: sha256 must be 64 hex digits`);
    if (typeof c.expiresAt !== 'number') bad(`code ${c.id}: expiresAt must be a number`);
    if (!Array.isArray(c.grants)) bad(`code ${c.id}: grants must be an array`);
    for (const g of c.grants) checkPattern(g.pattern);
  }
  return v as EnrollmentFile;
}
