import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExtractedClass, ExtractTarget } from './extract.js';
import { resolveTypeSource } from './type-source.js';

/**
 * Loads class schemas, from the disk cache when the source inputs are unchanged,
 * else by running the TypeScript checker once for every class asked for in the
 * same tick (requests are batched like a DataLoader, so a hub of ten classes
 * builds one program, not ten). The compiler is imported only on a cache miss:
 * a warm start never loads it.
 */

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The extractor's own code is part of every key, so changing it invalidates the cache. */
const EXTRACTOR_FILES = ['./extract.js', './normalize.js'].map((f) => resolveTypeSource(fileURLToPath(new URL(f, import.meta.url))));

interface CacheEntry {
  readonly dependencies: readonly { readonly file: string; readonly sha256: string }[];
  readonly schema: ExtractedClass;
}

const require = createRequire(import.meta.url);
const toolVersions = [
  ...EXTRACTOR_FILES.map((f) => sha256(readFileSync(f))),
  (require('typescript/package.json') as { version: string }).version,
  (require('typescript-json-schema/package.json') as { version: string }).version,
].join('/');

/** `PLEXUS_HUB_CACHE=off` disables the disk cache; any other value is its directory. */
export function cacheDirectory(): string | undefined {
  const setting = process.env.PLEXUS_HUB_CACHE;
  if (setting === 'off') return undefined;
  return resolve(setting || join(process.cwd(), 'node_modules', '.cache', 'plexus-hub'));
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

function readEntry(dir: string, key: string): ExtractedClass | undefined {
  const raw = readOrUndefined(join(dir, `${key}.json`));
  if (!raw) return undefined;
  try {
    const entry = JSON.parse(raw.toString('utf8')) as CacheEntry;
    for (const dep of entry.dependencies) {
      const now = readOrUndefined(dep.file);
      if (!now || sha256(now) !== dep.sha256) return undefined;
    }
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

export class SchemaLoader {
  readonly #memory = new Map<string, Promise<ExtractedClass>>();
  #batch: Pending[] = [];
  /** Statistics for `hub schema build` and the start-up benchmark. */
  readonly stats = { hits: 0, extracted: 0 };

  constructor(readonly directory: string | undefined = cacheDirectory()) {}

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
    const misses: (Pending & { key?: string })[] = [];
    for (const pending of batch) {
      try {
        const typeFile = resolveTypeSource(pending.target.sourceFile);
        const key = this.directory ? entryKey(pending.target, typeFile, readFileSync(typeFile)) : undefined;
        const cached = key && this.directory ? readEntry(this.directory, key) : undefined;
        if (cached) {
          this.stats.hits++;
          pending.resolve(cached);
        } else {
          misses.push({ ...pending, key });
        }
      } catch (err) {
        pending.reject(err);
      }
    }
    if (misses.length === 0) return;
    try {
      const { extractClasses } = await import('./extract.js');
      const result = extractClasses(misses.map((m) => m.target));
      this.stats.extracted += misses.length;
      const dependencies = result.dependencies.map((file) => ({ file, sha256: sha256(readFileSync(file)) }));
      misses.forEach((miss, i) => {
        const schema = result.classes[i]!;
        if (this.directory && miss.key) writeEntry(this.directory, miss.key, { dependencies, schema });
        miss.resolve(schema);
      });
    } catch (err) {
      // One broken class must not take the others down: retry them one by one.
      if (misses.length === 1) misses[0]!.reject(err);
      else for (const miss of misses) await this.#flush([miss]);
    }
  }
}

/** The process-wide loader the decorated activations use. */
export const schemaLoader = new SchemaLoader();
