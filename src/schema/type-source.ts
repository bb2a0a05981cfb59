import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class SchemaExtractionError extends Error {
  override readonly name = 'SchemaExtractionError';
}

/**
 * Where the types of a runtime module live: the module itself when it is
 * TypeScript; for compiled JavaScript, the original source named by its source
 * map, else the `.d.ts` beside it.
 */
export function resolveTypeSource(file: string): string {
  if (/\.(m|c)?tsx?$/.test(file) && !file.endsWith('.d.ts')) {
    if (existsSync(file)) return file;
    const dts = file.replace(/\.(m|c)?tsx?$/, '.d.ts');
    if (existsSync(dts)) return dts;
  }
  const js = /\.(m|c)?js$/.exec(file);
  if (js) {
    // Under tsx, sibling modules are named `.js` in imports but exist as `.ts`.
    const ts = `${file.slice(0, -js[0].length)}.${js[1] ?? ''}ts`;
    if (!existsSync(file) && existsSync(ts)) return ts;
    const map = `${file}.map`;
    if (existsSync(map)) {
      const sources = (JSON.parse(readFileSync(map, 'utf8')) as { sources?: string[]; sourceRoot?: string }).sources;
      const original = sources?.[0] ? resolve(dirname(file), sources[0]) : undefined;
      if (original && existsSync(original)) return original;
    }
    const dts = `${file.slice(0, -js[0].length)}.d.${js[1] ?? ''}ts`;
    if (existsSync(dts)) return dts;
  }
  throw new SchemaExtractionError(
    `No type information for ${file}: run it from TypeScript sources, or ship the compiled .d.ts (declaration: true) beside it`,
  );
}
