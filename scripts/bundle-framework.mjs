// After `tsc -p tsconfig.build.json`: bundles the framework's public entries (dist/src/
// index.js, wire, mcp, activation, auth, http) in place, their shared code split into
// dist/src/chunks/. Node then loads a handful of files at start instead of ~90 modules
// (about 200 ms of CPU less per start). In place, so every `import … from 'plexus-hub'`
// and the CLI's `../src/index.js` reach the same chunks: one PlexusError, one DynamicHub
// per process. Most packages stay external (see `external` below); the
// unbundled files stay beside the entries for the worker threads, the extractor
// process and the module hooks, and for `new URL('./x.js', import.meta.url)`, which is
// rewritten to name the original file. Source maps chain to the TypeScript sources.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BUNDLED = ['ws', 'canonicalize', 'reflect-metadata'];
const src = join(root, 'dist', 'src');
const MARK = '// plexus-hub: bundled entry';
const entries = ['index.js', 'wire/index.js', 'mcp/index.js', 'activation/index.js', 'auth/index.js', 'http/index.js'].map((e) =>
  join(src, e),
);

if (readFileSync(entries[0], 'utf8').startsWith(MARK)) {
  // Bundling a bundle would pull the old chunks in: tsc must run first.
  console.error('bundle-framework: dist/src is bundled already; run tsc -p tsconfig.build.json first');
  process.exit(1);
}
rmSync(join(src, 'chunks'), { recursive: true, force: true });

/** `import.meta.url` of each original module, computed from the chunk that holds it. */
const originalUrl = {
  name: 'original-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(src, args.path).split('\\').join('/');
      const url = `new URL(${JSON.stringify(rel)}, import.meta.url.slice(0, import.meta.url.lastIndexOf("/dist/src/") + 10)).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

await build({
  entryPoints: entries,
  outbase: src,
  outdir: src,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ws, canonicalize and reflect-metadata are bundled (CommonJS files Node would parse for their
  // exports); every other package stays external: ajv, the MCP SDK and the compiler are
  // loaded lazily.
  external: [...Object.keys(pkg.dependencies).filter((d) => !BUNDLED.includes(d)), 'bufferutil', 'utf-8-validate'],
  sourcemap: true,
  // Class names are how the schema extractor finds a class in its source (one bundle
  // scope would otherwise rename RootMethods to RootMethods2).
  keepNames: true,
  chunkNames: 'chunks/[name]-[hash]',
  // ws, bundled, is CommonJS: its require() of Node's modules needs a require.
  banner: { js: `${MARK}\nimport { createRequire as __plexusRequire } from 'node:module';\nconst require = __plexusRequire(import.meta.url);` },
  plugins: [originalUrl],
  logLevel: 'warning',
});
