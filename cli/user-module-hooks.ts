/**
 * Module hooks for a user's TypeScript (registered by load-modules.ts, after tsx,
 * so they run first). tsx resolves `./x.js` to `./x.ts` and tsconfig paths; these
 * hooks then decide how a user's `.ts`/`.tsx` file is compiled, the same way in
 * every project:
 *
 * - always as an ES module. A `"type":"commonjs"` project (npm's default) or a
 *   directory without package.json would otherwise make it CommonJS, and its
 *   `import … from 'plexus-hub'` (an ES module package) fails to load.
 * - with our decorator settings (legacy decorators, no decorator metadata), not the
 *   user's tsconfig: `@activation` and `@method` must mean one thing everywhere.
 *
 * `.cts` files and anything under node_modules are left to tsx and Node.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved> {
  const resolved = await next(specifier, context);
  return isUserTypeScript(resolved.url) ? { ...resolved, format: 'module' } : resolved;
}

/** What esbuild reads instead of the user's tsconfig: only what changes emitted code. */
const COMPILER_OPTIONS = {
  experimentalDecorators: true,
  emitDecoratorMetadata: false,
  useDefineForClassFields: true,
  verbatimModuleSyntax: false,
};

const ESBUILD_VERSION = (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version;

/**
 * Compiled modules by content, so a warm start neither loads nor spawns esbuild (about
 * a third of loading a user's module). Where the schema cache goes when no project
 * cache applies: `$PLEXUS_HUB_CACHE/modules` (`off`: none), else the user cache dir
 * (as `userCacheDirectory()` in src/schema/loader.ts). The key holds the file's path
 * (its inline source map names it), its content and everything that changes the output.
 */
function moduleCache(): string | undefined {
  const setting = process.env.PLEXUS_HUB_CACHE;
  if (setting === 'off') return undefined;
  if (setting) return join(setting, 'modules');
  const base = process.env.XDG_CACHE_HOME || (process.platform === 'win32' && process.env.LOCALAPPDATA) || join(homedir(), '.cache');
  return join(base, 'plexus-hub', 'modules');
}

export async function load(url: string, context: unknown, next: NextLoad): Promise<Loaded> {
  if (!isUserTypeScript(url)) return next(url, context);
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
  const dir = moduleCache();
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
