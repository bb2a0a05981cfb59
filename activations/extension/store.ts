/**
 * Installed extensions: `<data dir>/extensions/<source>.json`, one owner-only file per
 * source (the manifest and what its install approved), written atomically. The owner
 * (whoever can write the data dir) is the only admin, as for tokens. A running hub
 * notices changes by the directory's stamp (`stamp()`), as the token store re-reads
 * its file.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLockedError, AuditLog, AUDIT_FILE, type AuditEvent, writeFileAtomic } from '../../src/auth/index.js';
import type { ExtensionManifest } from './manifest.js';
import type { ApprovalSurface } from './validate.js';

export const EXTENSIONS_DIR = 'extensions';
/** Audit records the CLI could not write because a running hub holds the log: that hub appends them. */
const PENDING_AUDIT_DIR = 'pending-audit';

/** One installed extension as stored. */
export interface InstalledExtension {
  version: 1;
  manifest: ExtensionManifest;
  /** The approval surface the owner confirmed at install: the only bins, hosts and cross-source members used. */
  approved: ApprovalSurface;
  /** ISO 8601. */
  installedAt: string;
}

/** A file in the store that could not be read (shown by `list`, skipped by the hub). */
export interface BrokenEntry {
  source: string;
  error: string;
}

const SOURCE = /^[a-z][a-z0-9_]*$/;

export class ExtensionStore {
  readonly dir: string;

  constructor(readonly dataDir: string) {
    this.dir = join(dataDir, EXTENSIONS_DIR);
  }

  #ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is masked by the umask and leaves an existing directory alone.
    chmodSync(this.dir, 0o700);
  }

  fileOf(source: string): string {
    if (!SOURCE.test(source)) throw new Error(`"${source}" is not an extension source id (lower case letters, digits, _)`);
    return join(this.dir, `${source}.json`);
  }

  /** Installs (or replaces) a source. */
  add(manifest: ExtensionManifest, approved: ApprovalSurface, now = new Date()): InstalledExtension {
    this.#ensureDir();
    const record: InstalledExtension = { version: 1, manifest, approved, installedAt: now.toISOString() };
    writeFileAtomic(this.fileOf(manifest.source), `${JSON.stringify(record, null, 2)}\n`);
    return record;
  }

  /** Removes a source; false when none was installed. */
  remove(source: string): boolean {
    const file = this.fileOf(source);
    try {
      rmSync(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  get(source: string): InstalledExtension | undefined {
    return this.list().installed.find((e) => e.manifest.source === source);
  }

  /** Every installed source, sorted, and the files that could not be read. */
  list(): { installed: InstalledExtension[]; broken: BrokenEntry[] } {
    const installed: InstalledExtension[] = [];
    const broken: BrokenEntry[] = [];
    for (const name of this.#names()) {
      const source = name.slice(0, -'.json'.length);
      try {
        const record = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as InstalledExtension;
        if (record?.version !== 1 || record.manifest?.source !== source || typeof record.approved !== 'object') {
          throw new Error('not an installed-extension record (version 1, manifest.source = the file name, approved)');
        }
        installed.push(record);
      } catch (err) {
        broken.push({ source, error: (err as Error).message });
      }
    }
    return { installed, broken };
  }

  #names(): string[] {
    try {
      return readdirSync(this.dir)
        .filter((n) => n.endsWith('.json') && SOURCE.test(n.slice(0, -5)))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Changes whenever a source is added, replaced or removed. */
  stamp(): string {
    return this.#names()
      .map((n) => {
        try {
          const s = statSync(join(this.dir, n));
          return `${n}:${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return `${n}:gone`;
        }
      })
      .join('|');
  }

  /**
   * Records an install or removal in the data dir's audit log. A running hub holds the
   * log (one writer per chain): the record then waits in `pending-audit/` and that hub
   * appends it when it picks up the change.
   */
  audit(event: AuditEvent): 'written' | 'pending' {
    try {
      const log = new AuditLog(join(this.dataDir, AUDIT_FILE));
      try {
        log.append(event);
      } finally {
        log.close();
      }
      return 'written';
    } catch (err) {
      if (!(err instanceof AuditLockedError)) throw err;
      const dir = join(this.dir, PENDING_AUDIT_DIR);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(join(dir, `${Date.now()}-${process.pid}.json`), JSON.stringify(event));
      return 'pending';
    }
  }

  /** Appends the records the CLI left for a running hub (oldest first) and removes them. */
  drainPendingAudit(append: (event: AuditEvent) => void): number {
    const dir = join(this.dir, PENDING_AUDIT_DIR);
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    } catch {
      return 0;
    }
    names.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || (a < b ? -1 : 1));
    for (const name of names) {
      const file = join(dir, name);
      try {
        append(JSON.parse(readFileSync(file, 'utf8')) as AuditEvent);
      } finally {
        rmSync(file, { force: true });
      }
    }
    return names.length;
  }
}
