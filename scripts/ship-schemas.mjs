// After tsc and bundle-framework.mjs: extracts, in one batch, the schema of every
// @activation class this package compiles into dist/ (the hub's root methods, the
// built-in and the optional activations) and writes them to dist/schemas.json. Their
// types come from the package's own sources, which do not change within a build, so a
// cold `hub serve` need not run the TypeScript checker for them (src/schema/shipped.ts
// reads the table). Any failure fails the build: a table that silently lacks a class
// would only cost speed, but one that is wrong would serve wrong schemas.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const started = performance.now();

const { activationMetadata } = await import(pathToFileURL(join(dist, 'src', 'activation', 'index.js')).href);
const { extractClasses } = await import(pathToFileURL(join(dist, 'src', 'schema', 'extract.js')).href);

/** The sources (as warm-schemas.ts finds them) that declare a class with `@activation(` at a line start. */
function declaringSources(dir) {
  const found = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) found.push(...declaringSources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && /^@activation\(/m.test(readFileSync(join(root, path), 'utf8')))
      found.push(path);
  }
  return found;
}

const targets = new Map();
for (const source of [...declaringSources('src'), ...declaringSources('activations')]) {
  // Their compiled copies, as the hub imports them (the root methods' unbundled twin names the same file as the bundled one).
  const module = await import(pathToFileURL(join(dist, source.replace(/\.ts$/, '.js'))).href);
  for (const value of Object.values(module)) {
    const meta = activationMetadata(value);
    if (!meta) continue;
    const file = relative(dist, meta.sourceFile);
    if (file.startsWith('..') || !file.endsWith('.js'))
      throw new Error(`ship-schemas: ${meta.className} is declared in ${meta.sourceFile}, not in dist/`);
    const methodKeys = meta.methods.map((m) => m.key);
    targets.set(`${file}#${meta.className}`, { className: meta.className, sourceFile: meta.sourceFile, methodKeys, file });
  }
}
if (targets.size === 0) throw new Error('ship-schemas: no @activation class found in dist/');

const list = [...targets.values()];
const { classes } = extractClasses(list);
/** By dist file (relative, `/`-separated), then class name. */
const table = {};
list.forEach((target, i) => {
  const file = target.file.split(sep).join('/');
  table[file] ??= {};
  table[file][target.className] = { methodKeys: target.methodKeys, schema: classes[i] };
});
const out = join(dist, 'schemas.json');
writeFileSync(`${out}.tmp`, `${JSON.stringify({ format: 1, classes: table })}\n`);
renameSync(`${out}.tmp`, out);
console.log(`ship-schemas: ${list.length} classes → dist/schemas.json in ${Math.round(performance.now() - started)} ms`);
