import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock, writeFileAtomic } from '../auth/atomic-file.js';
import type { JoinCredential } from '../hub/policy.js';

/** The bindings file in a hub's data dir. */
export const JOIN_BINDINGS_FILE = 'joins.json';

/** A joined name and the credential that first joined under it. */
export interface JoinBinding {
  readonly name: string;
  /** The credential's stable id (`token:tok_…`, `join-token:<hash prefix>`), never a secret. */
  readonly credential: string;
  /** Who it was, for people (a token's principal name). */
  readonly label: string;
  /** ISO 8601. */
  readonly boundAt: string;
}

interface BindingsFile {
  readonly version: 1;
  readonly bindings: Record<string, { credential: string; label: string; bound_at: string }>;
}

/**
 * Which credential each joined name belongs to. The first credential to join under a
 * name owns it: a join under that name with any other credential is refused, while the
 * first is connected and after it left, across restarts (the file lives in the data
 * dir, owner-only, replaced atomically and locked for updates like `tokens.json`).
 * `hub join release <name>` frees a name. Without a file (the library's default) the
 * bindings last as long as the process.
 */
export class JoinBindings {
  #bindings = new Map<string, JoinBinding>();
  /** mtime and size of the file as last read: it is re-read only when they change (the CLI may have released a name). */
  #stamp = '';

  constructor(readonly file?: string) {}

  /** The bindings of the data dir `dir`. */
  static in(dir: string): JoinBindings {
    return new JoinBindings(join(dir, JOIN_BINDINGS_FILE));
  }

  get(name: string): JoinBinding | undefined {
    this.#refresh();
    return this.#bindings.get(name);
  }

  list(): JoinBinding[] {
    this.#refresh();
    return [...this.#bindings.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Binds `name` to `credential` unless it is bound already; returns the binding in
   * force afterwards (the caller compares its credential with the one presented).
   */
  bind(name: string, credential: JoinCredential, now = new Date()): JoinBinding {
    const fresh: JoinBinding = { name, credential: credential.id, label: credential.label, boundAt: now.toISOString() };
    if (!this.file) {
      const held = this.#bindings.get(name);
      if (held) return held;
      this.#bindings.set(name, fresh);
      return fresh;
    }
    return this.#update((all) => {
      const held = all.get(name);
      if (held) return held;
      all.set(name, fresh);
      return fresh;
    });
  }

  /** Frees `name`; returns what it was bound to, or undefined when it was free. */
  release(name: string): JoinBinding | undefined {
    if (!this.file) {
      const held = this.#bindings.get(name);
      this.#bindings.delete(name);
      return held;
    }
    return this.#update((all) => {
      const held = all.get(name);
      all.delete(name);
      return held;
    });
  }

  #update<T>(change: (all: Map<string, JoinBinding>) => T): T {
    const file = this.file!;
    return withFileLock(file, () => {
      const all = readBindings(file);
      const result = change(all);
      const out: BindingsFile = {
        version: 1,
        bindings: Object.fromEntries(
          [...all.values()].map((b) => [b.name, { credential: b.credential, label: b.label, bound_at: b.boundAt }]),
        ),
      };
      writeFileAtomic(file, `${JSON.stringify(out, null, 2)}\n`);
      this.#stamp = '';
      this.#refresh();
      return result;
    });
  }

  #refresh(): void {
    if (!this.file) return;
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.#stamp) return;
    this.#bindings = readBindings(this.file);
    this.#stamp = stamp;
  }
}

/** Reads the file (none yet: no bindings). A file that does not make sense throws: joins are then refused, never let through. */
function readBindings(file: string): Map<string, JoinBinding> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const bad = (what: string): never => {
    throw new Error(`Join bindings ${file}: ${what}`);
  };
  let v: Partial<BindingsFile> | null = null;
  try {
    v = JSON.parse(text) as Partial<BindingsFile>;
  } catch {
    bad('not JSON');
  }
  if (typeof v !== 'object' || v === null || v.version !== 1 || typeof v.bindings !== 'object' || v.bindings === null)
    bad('expected {"version": 1, "bindings": {...}}');
  const out = new Map<string, JoinBinding>();
  for (const [name, b] of Object.entries(v!.bindings!)) {
    if (typeof b?.credential !== 'string' || typeof b.label !== 'string' || typeof b.bound_at !== 'string')
      bad(`"${name}" lacks credential, label or bound_at`);
    out.set(name, { name, credential: b.credential, label: b.label, boundAt: b.bound_at });
  }
  return out;
}
