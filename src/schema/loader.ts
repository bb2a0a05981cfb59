import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExtractedClass, ExtractTarget } from './extract.js';
import { extractInWorker, extractionError } from './extract-process.js';
import { shippedSchemas } from './shipped.js';
import { resolveTypeSource } from './type-source.js';

/**
 * Loads class schemas: this package's own classes from the table built with it
 * (shipped.ts), others from the disk cache when the source inputs are unchanged,
 * else by running the TypeScript checker once for every class asked for in the
 * same tick (requests are batched like a DataLoader, so a hub of ten classes
 * builds one program, not ten). The compiler runs only on a cache miss, and then
 * in a child process that exits (extract-process.ts): a warm start never loads it, a cold
 * one does not keep it.
 */

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The extractor's own code is part of every key, so changing it invalidates the cache. */
const EXTRACTOR_FILES = ['./extract.js', './normalize.js'].map((f) => resolveTypeSource(fileURLToPath(new URL(f, import.meta.url))));

interface CacheEntry {
  readonly dependencies: readonly Dependency[];
  readonly schema: ExtractedClass;
}

interface Dependency {
  readonly file: string;
  readonly sha256: string;
  /** The file's size, mtime and inode when it was hashed, and when that was (ms since the epoch). */
  readonly stamp?: string;
  readonly hashedAt?: number;
}

const require = createRequire(import.meta.url);
const toolVersions = [
  ...EXTRACTOR_FILES.map((f) => sha256(readFileSync(f))),
  (require('typescript/package.json') as { version: string }).version,
  (require('typescript-json-schema/package.json') as { version: string }).version,
].join('/');

/**
 * Where the schemas of a module are cached. `PLEXUS_HUB_CACHE=off` disables the
 * cache; any other value is the directory. Else beside the module, in its
 * project's `node_modules/.cache/plexus-hub` when that `node_modules` exists and is
 * writable; else the user's cache directory. Never the working directory: a hub
 * started from `$HOME` (as MCP clients do) must not create `$HOME/node_modules`.
 * Entries are keyed by the module's absolute path and content, so projects that
 * share the user directory never collide.
 */
export function cacheDirectoryFor(typeFile: string): string | undefined {
  const setting = process.env.PLEXUS_HUB_CACHE;
  if (setting === 'off') return undefined;
  if (setting) return resolve(setting);
  return projectCache(typeFile) ?? userCacheDirectory();
}

/** `$XDG_CACHE_HOME/plexus-hub`, else `~/.cache/plexus-hub` (`%LOCALAPPDATA%` on Windows). */
export function userCacheDirectory(): string {
  const base = process.env.XDG_CACHE_HOME || (process.platform === 'win32' && process.env.LOCALAPPDATA) || join(homedir(), '.cache');
  return join(base, 'plexus-hub');
}

const projectCaches = new Map<string, string | undefined>();

/** The `node_modules/.cache/plexus-hub` of the project the file belongs to, if it has a writable node_modules. */
function projectCache(file: string): string | undefined {
  // A file inside node_modules (a dependency, or plexus-hub itself) belongs to the
  // project that installed it: the outermost node_modules.
  const inModules = file.indexOf(`${sep}node_modules${sep}`);
  let dir = inModules >= 0 ? file.slice(0, inModules) : dirname(file);
  if (projectCaches.has(dir)) return projectCaches.get(dir);
  const start = dir;
  let found: string | undefined;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'node_modules'))) {
      found = writable(join(dir, 'node_modules')) ? join(dir, 'node_modules', '.cache', 'plexus-hub') : undefined;
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  projectCaches.set(start, found);
  return found;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function entryKey(target: ExtractTarget, typeFile: string, source: Buffer): string {
  return sha256(JSON.stringify([toolVersions, target.className, typeFile, target.methodKeys, sha256(source)]));
}

/** How much older than its hashing a file's mtime must be for its stamp alone to vouch for it (file times are coarse). */
const RACY_MS = 2000;

/**
 * Whether a file whose stat gives `stamp` (size, mtime, inode) and `mtimeMs` is as it
 * was when hashed at `hashedAt` with stamp `hashedStamp`, without reading it. As git's
 * index does: a write moves the mtime, so a file with its old stamp, whose mtime was
 * already well in the past when it was hashed, has not been written since. Within
 * RACY_MS of the hashing, a write could have kept the mtime: read it.
 */
function vouches(stamp: string, mtimeMs: number, hashedStamp: string | undefined, hashedAt: number | undefined): boolean {
  return stamp === hashedStamp && hashedAt !== undefined && mtimeMs < hashedAt - RACY_MS;
}

interface Hashed {
  readonly stamp: string;
  readonly sha256: string;
  /** When the file was stat'ed for this hash (before reading it). */
  readonly at: number;
}

/**
 * A dependency's hash: from the process's memo or the entry's record when the file's
 * stamp vouches for it (the entries of one start share most of their dependencies, and
 * a warm start of the greeter read and hashed ~75 typings files), else read and hashed.
 */
const dependencyHashes = new Map<string, Hashed>();
function dependencyHash(file: string, recorded?: Dependency): Hashed | undefined {
  const at = Date.now(); // before the stat: a write after it gets a later mtime
  let stat: { size: number; mtimeMs: number; ino: number };
  try {
    stat = statSync(file);
  } catch {
    return undefined;
  }
  const stamp = `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
  if (recorded && vouches(stamp, stat.mtimeMs, recorded.stamp, recorded.hashedAt)) {
    return { stamp, sha256: recorded.sha256, at: recorded.hashedAt! };
  }
  const known = dependencyHashes.get(file);
  if (known && vouches(stamp, stat.mtimeMs, known.stamp, known.at)) return known;
  const now = readOrUndefined(file);
  if (!now) return undefined;
  const hashed = { stamp, sha256: sha256(now), at };
  dependencyHashes.set(file, hashed);
  return hashed;
}

function readEntry(dir: string, key: string): ExtractedClass | undefined {
  const raw = readOrUndefined(join(dir, `${key}.json`));
  if (!raw) return undefined;
  try {
    const entry = JSON.parse(raw.toString('utf8')) as CacheEntry;
    if (!entry.dependencies.every((dep) => dependencyHash(dep.file, dep)?.sha256 === dep.sha256)) return undefined;
    return entry.schema;
  } catch {
    return undefined; // a corrupt entry is a miss, never a failure
  }
}

function writeEntry(dir: string, key: string, entry: CacheEntry): void {
  try {
    mkdirSync(dir, { recursive: true });
    // Write-then-rename so a concurrent reader never sees half a file.
    const tmp = join(dir, `${key}.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, join(dir, `${key}.json`));
  } catch {
    // A read-only cache directory costs speed, not correctness.
  }
}

function targetId(target: ExtractTarget): string {
  return `${target.sourceFile}#${target.className}#${target.methodKeys.join(',')}`;
}

interface Pending {
  readonly target: ExtractTarget;
  readonly resolve: (schema: ExtractedClass) => void;
  readonly reject: (err: unknown) => void;
}

/** A fixed cache directory, none (`undefined`), or where to cache each module's schemas. */
export type CacheLocation = string | undefined | ((typeFile: string) => string | undefined);

export class SchemaLoader {
  readonly #memory = new Map<string, Promise<ExtractedClass>>();
  #batch: Pending[] = [];
  /** Statistics for `hub schema build` and the start-up benchmark. */
  readonly stats = { hits: 0, extracted: 0 };

  readonly #directory: (typeFile: string) => string | undefined;

  constructor(directory: CacheLocation = cacheDirectoryFor) {
    this.#directory = typeof directory === 'function' ? directory : () => directory;
  }

  readonly #loaded = new Map<string, ExtractedClass>();

  /** The schema when it is already loaded in this process, so callers can skip the await. */
  peek(target: ExtractTarget): ExtractedClass | undefined {
    return this.#loaded.get(targetId(target));
  }

  load(target: ExtractTarget): Promise<ExtractedClass> {
    const id = targetId(target);
    let found = this.#memory.get(id);
    if (!found) {
      found = new Promise<ExtractedClass>((resolve, reject) => {
        if (this.#batch.length === 0) setImmediate(() => void this.#flush());
        this.#batch.push({ target, resolve, reject });
      });
      // A failed load is retried on the next request (the source may be fixed by then).
      found.then(
        (schema) => this.#loaded.set(id, schema),
        () => this.#memory.delete(id),
      );
      this.#memory.set(id, found);
    }
    return found;
  }

  #take(): Pending[] {
    const batch = this.#batch;
    this.#batch = [];
    return batch;
  }

  async #flush(batch: Pending[] = this.#take()): Promise<void> {
    const misses: (Pending & { key?: string; dir?: string })[] = [];
    for (const pending of batch) {
      try {
        const shipped = shippedSchemas?.lookup(pending.target);
        if (shipped) {
          pending.resolve(shipped);
          continue;
        }
        const typeFile = resolveTypeSource(pending.target.sourceFile);
        const dir = this.#directory(typeFile);
        const key = dir ? entryKey(pending.target, typeFile, readFileSync(typeFile)) : undefined;
        const cached = key && dir ? readEntry(dir, key) : undefined;
        if (cached) {
          this.stats.hits++;
          pending.resolve(cached);
        } else {
          misses.push({ ...pending, key, dir });
        }
      } catch (err) {
        pending.reject(err);
      }
    }
    if (misses.length === 0) return;
    let reply: Awaited<ReturnType<typeof extractInWorker>>;
    try {
      reply = await extractInWorker(misses.map((m) => m.target));
    } catch (err) {
      for (const miss of misses) miss.reject(err);
      return;
    }
    const dependencies: Dependency[] = [];
    for (const file of reply.dependencies) {
      const hashed = dependencyHash(file);
      // A file gone since the extractor read it: the schemas stand, but are not cached.
      if (hashed) dependencies.push({ file, sha256: hashed.sha256, stamp: hashed.stamp, hashedAt: hashed.at });
    }
    const cacheable = dependencies.length === reply.dependencies.length;
    for (const [i, miss] of misses.entries()) {
      const outcome = reply.classes[i]!;
      if ('error' in outcome) {
        miss.reject(extractionError(outcome.error));
        continue;
      }
      this.stats.extracted++;
      if (miss.dir && miss.key && cacheable) writeEntry(miss.dir, miss.key, { dependencies, schema: outcome.ok });
      miss.resolve(outcome.ok);
    }
  }
}

/** The process-wide loader the decorated activations use. */
export const schemaLoader = new SchemaLoader();
