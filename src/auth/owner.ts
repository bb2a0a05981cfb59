import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { Unrestricted } from './principal.js';

/** `<data dir>/owner.json`: where a serving hub leaves its owner key for the owner's CLI (0600). */
export const OWNER_FILE = 'owner.json';
/** How long an owner code printed by `hub serve` may be redeemed. */
export const DEFAULT_OWNER_CODE_TTL_MS = 10 * 60_000;
/** Owner codes not yet redeemed, at most (each `hub approvals open` adds one). */
const MAX_OWNER_CODES = 16;

/** What `owner.json` holds: which hub, where it listens, and the key the owner's CLI presents. */
export interface OwnerFile {
  readonly hub: string;
  /** The hub's WebSocket URL. */
  readonly url: string;
  readonly key: string;
  readonly pid: number;
}

/** Typeable: 16 characters of Crockford's base32 in four groups (80 bits). */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function newCode(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i++) out += CODE_ALPHABET[bytes[i]! & 31];
  return `own-${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}-${out.slice(12)}`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The owner's credentials while a hub serves: a key (made at start, kept in memory
 * and in `<data dir>/owner.json`, owner-only, for the `hub approvals` CLI: reading the
 * data dir is what makes someone the owner, as for `hub token`), and short-lived
 * one-time owner codes (printed by `hub serve`, typed or opened as a URL in the
 * explorer). Neither is a token: no token store entry, no grant reaches them, and a
 * client token can never become one.
 */
export class OwnerCredentials {
  readonly key = `phub_owner_${randomBytes(24).toString('base64url')}`;
  /** sha256(code) → expiry (Unix ms); a code leaves when redeemed. */
  readonly #codes = new Map<string, number>();

  /** A new one-time code, valid for `ttlMs`. */
  issueCode(ttlMs = DEFAULT_OWNER_CODE_TTL_MS, now = Date.now()): { code: string; expiresAt: number } {
    this.#sweep(now);
    if (this.#codes.size >= MAX_OWNER_CODES) this.#codes.delete(this.#codes.keys().next().value!);
    const code = newCode();
    const expiresAt = now + ttlMs;
    this.#codes.set(sha256(code.toUpperCase()), expiresAt);
    return { code, expiresAt };
  }

  /** `key` for the owner key, `code` for a live owner code (now spent), else undefined. */
  check(credential: string, now = Date.now()): 'key' | 'code' | undefined {
    const a = Buffer.from(credential);
    const b = Buffer.from(this.key);
    if (a.length === b.length && timingSafeEqual(a, b)) return 'key';
    if (!/^own-/i.test(credential)) return undefined;
    const hash = sha256(credential.toUpperCase());
    const expiresAt = this.#codes.get(hash);
    if (expiresAt === undefined) return undefined;
    this.#codes.delete(hash);
    return now < expiresAt ? 'code' : undefined;
  }

  #sweep(now: number): void {
    for (const [hash, expiresAt] of this.#codes) if (now >= expiresAt) this.#codes.delete(hash);
  }
}

/** Writes `owner.json` (0600) for the owner's CLI; returns a function that removes it. */
export function writeOwnerFile(dataDir: string, content: OwnerFile): () => void {
  const file = join(dataDir, OWNER_FILE);
  writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`);
  return () => {
    try {
      // Only ours: another hub on the same data dir may have written it since.
      if ((JSON.parse(readFileSync(file, 'utf8')) as OwnerFile).key === content.key) rmSync(file, { force: true });
    } catch {
      /* gone already */
    }
  };
}

/** The running hub's owner file, or an error that says how to get one. */
export function readOwnerFile(dataDir: string): OwnerFile {
  const file = join(dataDir, OWNER_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no running hub owns ${dataDir}: ${file} is missing (start \`hub serve\` with this data dir and a token store)`);
  }
  const parsed = JSON.parse(text) as Partial<OwnerFile>;
  if (typeof parsed.url !== 'string' || typeof parsed.key !== 'string') throw new Error(`${file} is not an owner file`);
  return parsed as OwnerFile;
}

/**
 * The hub's owner on a connection that presented the owner key or an owner code:
 * may call everything, is never held for approval (its own calls are its own
 * decision), and alone may reach the owner methods (`_approvals.*`).
 */
export class OwnerPrincipal extends Unrestricted {
  constructor(
    /** `cli` (the owner key) or `explorer` (an owner code). */
    readonly via: 'cli' | 'explorer',
    transport?: string,
    remote?: string,
  ) {
    super('owner', 'trusted', transport, remote);
  }
}
