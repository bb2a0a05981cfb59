/**
 * A user's one-file TypeScript module, compiled with its imports already resolved
 * ("linked"), so that a warm start imports it without module hooks: registering them
 * starts Node 20's hooks thread, which blocks the first import ~80 ms and costs more
 * CPU besides — a quarter of a warm `hub serve greeter.ts`.
 *
 * Only a module whose every import is a Node built-in or this package (`plexus-hub`,
 * `plexus-hub/wire`…) is linked: those resolve to the same files from anywhere once
 * checked that the module still reaches this copy of the package (checkLinked). Any
 * other import — relative files, other packages — keeps the hooks (tsx may be needed
 * there, and a module imported twice by two routes would exist twice).
 *
 * The hooks thread writes a linked copy after importing a module the usual way
 * (user-module-hooks.ts, with the resolutions it saw); the main thread checks and
 * imports it on the next start (load-modules.ts). This file runs in both threads, so
 * it imports nothing of the framework. Cache location: as the compiled-module cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where compiled user modules are cached: `$PLEXUS_HUB_CACHE/modules` (`off`: none), else the
 * user cache dir (as `userCacheDirectory()` in src/schema/loader.ts, which this thread may not load).
 */
export function moduleCacheDirectory(): string | undefined {
  const setting = process.env.PLEXUS_HUB_CACHE;
  if (setting === 'off') return undefined;
  if (setting) return join(setting, 'modules');
  const base = process.env.XDG_CACHE_HOME || (process.platform === 'win32' && process.env.LOCALAPPDATA) || join(homedir(), '.cache');
  return join(base, 'plexus-hub', 'modules');
}

/** What esbuild reads instead of the user's tsconfig: only what changes emitted code. */
export const COMPILER_OPTIONS = {
  experimentalDecorators: true,
  emitDecoratorMetadata: false,
  useDefineForClassFields: true,
  verbatimModuleSyntax: false,
};

/** The tsconfig tsx would read: TSX_TSCONFIG_PATH, else the first tsconfig.json from the cwd up. */
export function tsconfigInReach(): string | undefined {
  if (process.env.TSX_TSCONFIG_PATH) return process.env.TSX_TSCONFIG_PATH;
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const file = join(dir, 'tsconfig.json');
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Bump when the linked form or its checks change: older entries are then never read. */
const LINK_FORMAT = 'plexus-hub linked module 1';

interface Manifest {
  readonly format: string;
  /** The module's file URL (also compiled into the code: import.meta.url, the source map). */
  readonly url: string;
  /** SHA-256 of the module's source when linked. */
  readonly source: string;
  /** The tsconfig tsx read when the imports were resolved (it may map them), with its SHA-256. */
  readonly tsconfig: { readonly file: string; readonly sha256: string } | null;
  /** The directory by which the module reached this package (before symlinks), when it imports it. */
  readonly packageDir: string | null;
  readonly packageRoot: string;
  /** SHA-256 of this package's package.json: its `exports` mapped the subpaths. */
  readonly packageJson: string;
  /** The resolved files of this package that the code imports. */
  readonly files: readonly string[];
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** The cache entry's name: the module's path and source, and the compile settings. */
function entryPath(dir: string, url: string, source: string): string {
  return join(dir, `linked-${sha256(JSON.stringify([LINK_FORMAT, url, source, COMPILER_OPTIONS, process.versions.node.split('.')[0]]))}`);
}

/**
 * Where a module at `file` finds the package named `name` (Node's resolution of a bare
 * specifier): itself, when its nearest package.json is that package; else the first
 * `node_modules/<name>` from its directory up.
 */
function packageDirFrom(file: string, name: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === name) return dir;
      } catch {
        /* unreadable: not a self-reference */
      }
      break;
    }
    if (dirname(dir) === dir) break;
  }
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Whether the module at `file` reaches this copy of the package, and by which directory. */
function reachedPackageDir(file: string, own: OwnPackage): string | undefined {
  const dir = packageDirFrom(file, own.name);
  return dir !== undefined && realpathSync(dir) === own.root ? dir : undefined;
}

const BUILTIN = new Set(builtinModules);
const isBuiltin = (specifier: string) => specifier.startsWith('node:') || BUILTIN.has(specifier);

function tsconfigNow(): Manifest['tsconfig'] {
  const file = tsconfigInReach();
  if (!file) return null;
  try {
    return { file, sha256: sha256(readFileSync(file)) };
  } catch {
    return { file, sha256: 'unreadable' };
  }
}

/** This package: its root directory (after symlinks), name and package.json hash. */
export interface OwnPackage {
  readonly root: string;
  readonly name: string;
  readonly packageJson: string;
}

export function ownPackage(root: string): OwnPackage {
  const text = readFileSync(join(root, 'package.json'));
  return { root, name: (JSON.parse(text.toString('utf8')) as { name: string }).name, packageJson: sha256(text) };
}

/**
 * The linked copy of the module at `url`, when one was written and still holds: the
 * same source, tsconfig and package, reached the same way, its files still there.
 * Undefined otherwise (the caller imports the module through the hooks).
 */
export function checkLinked(url: string, own: OwnPackage): string | undefined {
  const dir = moduleCacheDirectory();
  if (!dir) return undefined;
  try {
    const file = fileURLToPath(url);
    const source = sha256(readFileSync(file));
    const base = entryPath(dir, url, source);
    const manifest = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Manifest;
    const holds =
      manifest.format === LINK_FORMAT &&
      manifest.url === url &&
      manifest.source === source &&
      manifest.packageRoot === own.root &&
      manifest.packageJson === own.packageJson &&
      JSON.stringify(manifest.tsconfig) === JSON.stringify(tsconfigNow()) &&
      (manifest.packageDir === null || manifest.packageDir === reachedPackageDir(file, own)) &&
      manifest.files.every((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
    return holds ? pathToFileURL(`${base}.mjs`).href : undefined;
  } catch {
    return undefined; // no entry, or an unreadable one: the hooks
  }
}

/** One import of the module as the hooks resolved it. */
export interface Resolution {
  readonly specifier: string;
  readonly url: string;
}

/**
 * Writes the linked copy of the module at `url` (hooks thread), if every import it
 * made resolved to a built-in or into this package. Returns why it did not (undefined
 * when it did), for PLEXUS_DEBUG_LINK; a module
 * it cannot link, or a cache it cannot write, is no error.
 */
export async function writeLinked(url: string, resolutions: readonly Resolution[], own: OwnPackage): Promise<string | undefined> {
  const dir = moduleCacheDirectory();
  if (!dir) return 'no module cache (PLEXUS_HUB_CACHE=off)';
  if (!url.startsWith('file:')) return 'not a file';
  const file = fileURLToPath(url);
  const ownDir = pathToFileURL(join(own.root, '/')).href;
  const targets = new Map<string, string>();
  for (const { specifier, url: target } of resolutions) {
    if (isBuiltin(specifier)) targets.set(specifier, specifier);
    else if ((specifier === own.name || specifier.startsWith(`${own.name}/`)) && target.startsWith(ownDir)) targets.set(specifier, target);
    else return `it imports ${specifier} (${target})`;
  }
  const source = readFileSync(file);
  const files = [...new Set([...targets.values()].filter((t) => t.startsWith('file:')).map((t) => fileURLToPath(t)))];
  const packageDir = files.length > 0 ? reachedPackageDir(file, own) : undefined;
  if (files.length > 0 && packageDir === undefined) return `it reaches ${own.name} by another copy than ${own.root}`;
  const { build } = await import('esbuild');
  let code: string;
  try {
    // One module "bundled" with every import external, so esbuild prints the resolved URL
    // for each specifier; an import the hooks never saw (e.g. a dynamic one not yet run) fails the build.
    const result = await build({
      // The bytes hashed into the manifest, not the file again: it may have changed since.
      stdin: {
        contents: source.toString('utf8'),
        sourcefile: file,
        resolveDir: dirname(file),
        loader: file.endsWith('.tsx') ? 'tsx' : 'ts',
      },
      absWorkingDir: dirname(file),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      sourcemap: 'external',
      outfile: join(dirname(file), 'linked.mjs'),
      tsconfigRaw: { compilerOptions: COMPILER_OPTIONS },
      // The copy lives in the cache: the module's own location is compiled in.
      define: {
        'import.meta.url': JSON.stringify(url),
        'import.meta.filename': JSON.stringify(file),
        'import.meta.dirname': JSON.stringify(dirname(file)),
      },
      logLevel: 'silent',
      plugins: [
        {
          name: 'resolved-by-the-hooks',
          setup(b) {
            b.onResolve({ filter: /.*/ }, (args) => {
              if (args.kind === 'entry-point') return undefined;
              const target = targets.get(args.path);
              return target ? { path: target, external: true } : { errors: [{ text: `not resolved by the hooks: ${args.path}` }] };
            });
          },
        },
      ],
    });
    const js = result.outputFiles.find((f) => f.path.endsWith('.mjs'))!.text;
    // import.meta beyond what was replaced (resolve), or an import() of a computed name, would
    // resolve from the cache's location: such a module keeps the hooks.
    if (/\bimport\s*\.\s*meta\b|\bimport\s*\(/.test(js)) return 'it uses import.meta.resolve or import() of a computed name';
    const map = JSON.parse(result.outputFiles.find((f) => f.path.endsWith('.map'))!.text) as { sources: string[] };
    map.sources = [url];
    // sourceURL names the module's frames after its own file (the decorators read the
    // declaring file from the stack, and the helpers esbuild adds have no mapping).
    code =
      js.replace(/\/\/# sourceMappingURL=\S+\s*$/, '') +
      `//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n` +
      `//# sourceURL=${url}\n`;
  } catch (err) {
    return `esbuild: ${(err as Error).message.split('\n')[0]}`;
  }
  const manifest: Manifest = {
    format: LINK_FORMAT,
    url,
    source: sha256(source),
    tsconfig: tsconfigNow(),
    packageDir: packageDir ?? null,
    packageRoot: own.root,
    packageJson: own.packageJson,
    files,
  };
  const base = entryPath(dir, url, manifest.source);
  try {
    await mkdir(dir, { recursive: true });
    // The code first, the manifest last: a reader that finds the manifest finds the code.
    await writeWhole(`${base}.mjs`, code);
    await writeWhole(`${base}.json`, JSON.stringify(manifest));
    return undefined;
  } catch (err) {
    return `the cache cannot be written: ${(err as Error).message}`;
  }
}

async function writeWhole(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}
