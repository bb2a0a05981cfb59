/**
 * Module hooks for a user's TypeScript (registered by load-modules.ts). They decide
 * how a user's `.ts`/`.tsx` file is compiled, the same way in every project:
 *
 * - always as an ES module. A `"type":"commonjs"` project (npm's default) or a
 *   directory without package.json would otherwise make it CommonJS, and its
 *   `import … from 'plexus-hub'` (an ES module package) fails to load.
 * - with our decorator settings (legacy decorators, no decorator metadata), not the
 *   user's tsconfig: `@activation` and `@method` must mean one thing everywhere.
 *
 * Everything else TypeScript needs (`./x.js` → `./x.ts`, extensionless and directory
 * imports, the tsconfig's `paths`, `.cts` files, TypeScript under node_modules) is tsx's
 * hooks, which these hooks load on first need and call as the next link of their chain:
 * a start whose modules need none of it (the README's greeter: one file importing
 * plexus-hub) loads no tsx and no esbuild, about a quarter of a warm start's CPU.
 * With a tsconfig that tsx would read (from the cwd up, or TSX_TSCONFIG_PATH), every
 * user-land resolution goes through tsx as before. The framework's own imports (from
 * dist/ and the packages it resolves) never need tsx and skip it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { COMPILER_OPTIONS, moduleCacheDirectory, type OwnPackage, type Resolution, tsconfigInReach, writeLinked } from './linked-module.js';

interface Resolved {
  url: string;
  format?: string | null;
  [key: string]: unknown;
}
interface Loaded {
  format: string;
  source?: string | ArrayBuffer | Uint8Array;
  shortCircuit?: boolean;
  [key: string]: unknown;
}
type NextResolve = (specifier: string, context?: unknown) => Promise<Resolved>;
type NextLoad = (url: string, context?: unknown) => Promise<Loaded>;

const USER_TYPESCRIPT = /\.(m?ts|tsx)$/;

function isUserTypeScript(url: string): boolean {
  if (!url.startsWith('file:')) return false;
  const { pathname } = new URL(url);
  return USER_TYPESCRIPT.test(pathname) && !pathname.endsWith('.d.ts') && !pathname.includes('/node_modules/');
}

/** tsx's hooks module, called as a link of our chain (see above). */
interface TsxHooks {
  initialize(data: object): Promise<void>;
  resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved>;
  load(url: string, context: unknown, next: NextLoad): Promise<Loaded>;
}
const TSX_HOOKS = 'tsx/esm'; // a variable: the package ships no types for this entry
let tsx: Promise<TsxHooks> | undefined;
function tsxHooks(): Promise<TsxHooks> {
  return (tsx ??= (import(TSX_HOOKS) as Promise<TsxHooks>).then(async (hooks) => {
    await hooks.initialize({});
    return hooks;
  }));
}

/** tsx reads the tsconfig found from the cwd up; one may hold `paths`, `baseUrl` or `allowJs`, so then tsx resolves everything of the user's. */
const TSX_FOR_ALL = tsconfigInReach() !== undefined;

/** The framework's compiled files (dist/; run from sources under tsx, none); what they import joins FRAMEWORK. */
const OWN_DIST = import.meta.url.endsWith('.js') ? new URL('../', import.meta.url).href : 'dist:none';
const FRAMEWORK = new Set<string>();
const isFramework = (url: string) => url.startsWith(OWN_DIST) || FRAMEWORK.has(url);
const TYPESCRIPT_FILE = /\.([cm]?ts|tsx)$/;
const PATH_LIKE = /^(\.\.?($|\/)|\/|file:)/;

function asModule(resolved: Resolved): Resolved {
  return isUserTypeScript(resolved.url) ? { ...resolved, format: 'module' } : resolved;
}

/** What each user module's imports resolved to, for linking it (linked-module.ts). */
const resolutions = new Map<string, Resolution[]>();

export async function resolve(specifier: string, context: { parentURL?: string }, next: NextResolve): Promise<Resolved> {
  const resolved = await resolveFor(specifier, context, next);
  const parent = context.parentURL;
  if (parent !== undefined && isUserTypeScript(parent)) {
    const seen = resolutions.get(parent) ?? [];
    seen.push({ specifier, url: resolved.url });
    resolutions.set(parent, seen);
  }
  return resolved;
}

/**
 * The main thread (load-modules.ts) sends, over this port, `{ link: url }` after
 * importing a user's module; the answer is `{ link: url, linked }`.
 */
export function initialize(data: { port?: MessagePort; own?: OwnPackage } | undefined): void {
  const { port, own } = data ?? {};
  if (!port || !own) return;
  port.on('message', ({ link }: { link: string }) => {
    void writeLinked(link, resolutions.get(link) ?? [], own)
      .catch((err: Error) => err.message)
      .then((why) => {
        // Why a start of this module still needs the hooks, for whoever wonders why it is slower.
        if (why && process.env.PLEXUS_DEBUG_LINK) process.stderr.write(`plexus-hub: ${link} not linked: ${why}\n`);
        port.postMessage({ link, linked: why === undefined });
      });
  });
  port.unref();
}

async function resolveFor(specifier: string, context: { parentURL?: string }, next: NextResolve): Promise<Resolved> {
  const viaTsx = async () => asModule(await (await tsxHooks()).resolve(specifier, context, next));
  const parent = context.parentURL;
  const framework = parent !== undefined && isFramework(parent);
  if (specifier.startsWith('node:')) return next(specifier, context);
  if (!framework) {
    // tsx maps a TypeScript file's relative imports (./x.js → ./x.ts) and applies tsconfig paths.
    const fromTypeScript = parent !== undefined && TYPESCRIPT_FILE.test(new URL(parent).pathname);
    if (TSX_FOR_ALL || (fromTypeScript && PATH_LIKE.test(specifier))) return viaTsx();
  }
  let resolved: Resolved;
  try {
    resolved = await next(specifier, context);
  } catch (err) {
    if (framework) throw err;
    return viaTsx(); // extension guessing, directory imports
  }
  if (resolved.url.startsWith('file:')) {
    const { pathname } = new URL(resolved.url);
    // .cts, or TypeScript in node_modules: tsx gives it a format and compiles it.
    if (TYPESCRIPT_FILE.test(pathname) && !isUserTypeScript(resolved.url)) return viaTsx();
    // What the framework imports from its packages is the framework's too; a user's module
    // that load-modules.ts imports (or anything outside node_modules) is not.
    if (framework && pathname.includes('/node_modules/')) FRAMEWORK.add(resolved.url);
  }
  return asModule(resolved);
}

const ESBUILD_VERSION = (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version;

/*
 * Compiled modules are cached by content (moduleCacheDirectory()), so a start whose
 * module is not linked still neither loads nor spawns esbuild. The key holds the file's
 * path (its inline source map names it), its content and everything that changes the output.
 */

export async function load(url: string, context: unknown, next: NextLoad): Promise<Loaded> {
  if (!isUserTypeScript(url)) {
    // The framework's modules are plain JavaScript; anything else of the user's is tsx's, as before.
    if (!url.startsWith('file:') || isFramework(url)) return next(url, context);
    return (await tsxHooks()).load(url, context, next);
  }
  const file = fileURLToPath(url);
  const source = await readFile(file, 'utf8');
  const options = {
    loader: file.endsWith('.tsx') ? ('tsx' as const) : ('ts' as const),
    format: 'esm' as const,
    target: `node${process.versions.node.split('.')[0]}`,
    sourcefile: file,
    sourcemap: 'inline' as const,
    tsconfigRaw: { compilerOptions: COMPILER_OPTIONS },
  };
  const dir = moduleCacheDirectory();
  const key = createHash('sha256')
    .update(JSON.stringify([ESBUILD_VERSION, options]))
    .update(source)
    .digest('hex');
  const cached = dir && join(dir, `${key}.mjs`);
  if (cached) {
    const code = await readFile(cached, 'utf8').catch(() => undefined);
    if (code !== undefined) return { format: 'module', source: code, shortCircuit: true };
  }
  const { transform } = await import('esbuild');
  const { code } = await transform(source, options);
  if (cached) await store(cached, code);
  return { format: 'module', source: code, shortCircuit: true };
}

/** Writes a cache entry whole (a rename), or not at all: a cache that cannot be written is no error. */
async function store(path: string, code: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(temp, code);
    await rename(temp, path);
  } catch {
    /* a read-only or full cache: compile again next time */
  }
}
