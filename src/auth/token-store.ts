import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, withFileLock } from './atomic-file.js';
import { checkPattern, grantCovers, grantLive, type Grant } from './grants.js';
import { isVerb, type Verb } from '../activation/verbs.js';

/** One issued token. The token itself is never stored: only its SHA-256. */
export interface TokenRecord {
  /** Public handle for listings, revocation and the audit log (`tok_…`). */
  readonly id: string;
  /** The principal: who holds this token. */
  readonly name: string;
  /** The root hub name the token was issued for; it is refused by any other hub. */
  readonly hub: string;
  /** Hex SHA-256 of the token. */
  readonly sha256: string;
  readonly createdAt: number;
  readonly expiresAt?: number;
  readonly revokedAt?: number;
  readonly grants: readonly Grant[];
  /** Set when the token is an agent's (redeemed from an enrollment code): the agent's name, unique among live agents. */
  readonly agent?: string;
}

interface StoreFile {
  readonly version: 1;
  readonly tokens: readonly TokenRecord[];
}

export type TokenCheck =
  | { readonly ok: true; readonly record: TokenRecord }
  | { readonly ok: false; readonly reason: 'unknown' | 'revoked' | 'expired' | 'other_hub' };

export const TOKEN_PREFIX = 'phub_';
export const TOKEN_FILE = 'tokens.json';
/** How often a running hub looks at the file for changes made by `hub token …`. */
const REFRESH_MS = 200;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The token store: a JSON file under the data dir, replaced atomically on every
 * change and locked for read-modify-write, so `hub token revoke` works against a
 * running hub (which notices the change within REFRESH_MS).
 */
export class TokenStore {
  readonly file: string;
  #byHash = new Map<string, TokenRecord>();
  #byId = new Map<string, TokenRecord>();
  #stamp = '';
  #checkedAt = 0;
  /** Bumped whenever the records change: a cache key for grant decisions. */
  generation = 0;

  constructor(dataDir: string) {
    this.file = join(dataDir, TOKEN_FILE);
    this.#reload();
  }

  /** A hub switches to required auth when its data dir has a token store. */
  static existsIn(dataDir: string): boolean {
    return existsSync(join(dataDir, TOKEN_FILE));
  }

  /** Creates the (empty) store file if there is none. */
  init(): void {
    withFileLock(this.file, () => {
      if (!existsSync(this.file)) this.#write({ version: 1, tokens: [] });
    });
    this.#reload();
  }

  records(): readonly TokenRecord[] {
    this.refresh();
    return [...this.#byId.values()];
  }

  /** Issues a token; the returned string is shown once and never stored. */
  create(input: { name: string; hub: string; grants: readonly Grant[]; ttlMs?: number; now?: number; agent?: string }): {
    token: string;
    record: TokenRecord;
  } {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(input.name)) {
      throw new Error(`Invalid principal name "${input.name}": letters, digits, _ . @ - (at most 64)`);
    }
    const now = input.now ?? Date.now();
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      id: `tok_${randomBytes(6).toString('hex')}`,
      name: input.name,
      hub: input.hub,
      sha256: sha256Hex(token),
      createdAt: now,
      ...(input.ttlMs !== undefined ? { expiresAt: now + input.ttlMs } : {}),
      grants: input.grants,
      ...(input.agent !== undefined ? { agent: input.agent } : {}),
    };
    this.#update((tokens) => [...tokens, record]);
    return { token, record };
  }

  /** Revokes by id or by principal name (every token of that name); returns what was revoked. */
  revoke(idOrName: string, now = Date.now()): TokenRecord[] {
    const revoked: TokenRecord[] = [];
    this.#update((tokens) =>
      tokens.map((t) => {
        if ((t.id !== idOrName && t.name !== idOrName) || t.revokedAt !== undefined) return t;
        const r = { ...t, revokedAt: now };
        revoked.push(r);
        return r;
      }),
    );
    return revoked;
  }

  /** Checks a presented token against the store, for hub `hub`. */
  check(token: string, hub: string, now = Date.now()): TokenCheck {
    this.refresh();
    const hash = sha256Hex(token);
    const record = this.#byHash.get(hash);
    // The map lookup is by hash; compare in constant time anyway so equal-prefix guesses learn nothing.
    if (!record || !timingSafeEqual(Buffer.from(record.sha256, 'hex'), Buffer.from(hash, 'hex'))) return { ok: false, reason: 'unknown' };
    if (record.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
    if (record.expiresAt !== undefined && now >= record.expiresAt) return { ok: false, reason: 'expired' };
    if (record.hub !== hub) return { ok: false, reason: 'other_hub' };
    return { ok: true, record };
  }

  /** The current state of a token (after revocations or uses recorded since), or undefined. */
  current(id: string): TokenRecord | undefined {
    this.refresh();
    return this.#byId.get(id);
  }

  /**
   * Marks the one-time grant that allows `verbs` on `path` as used; false when it
   * was used meanwhile (by another connection, or another hub process).
   */
  useOnce(id: string, path: string, verbs: readonly Verb[], now = Date.now()): boolean {
    let used = false;
    this.#update((tokens) =>
      tokens.map((t) => {
        if (t.id !== id) return t;
        const grants = t.grants.map((g) => {
          if (used || !g.once || !grantLive(g, now) || !verbs.some((v) => grantCovers(g, path, v))) return g;
          used = true;
          return { ...g, usedAt: now };
        });
        return used ? { ...t, grants } : t;
      }),
    );
    return used;
  }

  /** Re-reads the file when it changed on disk (checked at most every REFRESH_MS). */
  refresh(now = Date.now()): void {
    if (now - this.#checkedAt < REFRESH_MS) return;
    this.#checkedAt = now;
    if (this.#fileStamp() !== this.#stamp) this.#reload();
  }

  #fileStamp(): string {
    try {
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  #reload(): void {
    this.#stamp = this.#fileStamp();
    this.#checkedAt = Date.now();
    const tokens = this.#stamp === 'missing' ? [] : this.#read().tokens;
    this.#byHash = new Map(tokens.map((t) => [t.sha256, t]));
    this.#byId = new Map(tokens.map((t) => [t.id, t]));
    this.generation++;
  }

  #read(): StoreFile {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, tokens: [] };
      throw new Error(`Token store ${this.file} is not readable JSON: ${(err as Error).message}`);
    }
    return validateStore(parsed, this.file);
  }

  #write(data: StoreFile): void {
    writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }

  #update(change: (tokens: readonly TokenRecord[]) => readonly TokenRecord[]): void {
    withFileLock(this.file, () => {
      const current = this.#read();
      this.#write({ version: 1, tokens: change(current.tokens) });
    });
    this.#reload();
  }
}

/** A store edited by hand must still make sense, or the hub refuses to use it. */
function validateStore(value: unknown, file: string): StoreFile {
  const bad = (what: string): never => {
    throw new Error(`Token store ${file}: ${what}`);
  };
  const v = value as Partial<StoreFile> | null;
  if (typeof v !== 'object' || v === null || v.version !== 1 || !Array.isArray(v.tokens)) bad('expected {"version": 1, "tokens": [...]}');
  for (const t of v!.tokens!) {
    if (typeof t?.id !== 'string' || typeof t.name !== 'string' || typeof t.hub !== 'string') bad('a token lacks id, name or hub');
    if (typeof t.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256)) bad(`token ${t.id}: sha256 must be 64 hex digits`);
    if (!Array.isArray(t.grants)) bad(`token ${t.id}: grants must be an array`);
    if (t.agent !== undefined && typeof t.agent !== 'string') bad(`token ${t.id}: agent must be a string`);
    for (const g of t.grants) {
      try {
        checkPattern(g.pattern);
      } catch (err) {
        bad(`token ${t.id}: ${(err as Error).message}`);
      }
      if (!Array.isArray(g.verbs) || !g.verbs.every(isVerb)) bad(`token ${t.id}: grant ${g.pattern} has unknown verbs`);
    }
  }
  return v as StoreFile;
}
