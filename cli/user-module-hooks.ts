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
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

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

export async function load(url: string, context: unknown, next: NextLoad): Promise<Loaded> {
  if (!isUserTypeScript(url)) return next(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: file.endsWith('.tsx') ? 'tsx' : 'ts',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcefile: file,
    sourcemap: 'inline',
    tsconfigRaw: { compilerOptions: COMPILER_OPTIONS },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
