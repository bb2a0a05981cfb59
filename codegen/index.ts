import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildIr, type BuildOptions, type CodegenIR, type SchemaSource } from './ir.js';
import { emitPython } from './python/emit.js';
import { emitTypeScript } from './typescript/emit.js';
import type { EmittedFile, Emitter } from './types.js';

export { buildIr, rewriteRefs, type CodegenIR, type IrMethod, type IrNamespace, type SchemaSource } from './ir.js';
export { emitTypeScript } from './typescript/emit.js';
export type { EmittedFile, Emitter } from './types.js';
export { emitPython } from './python/emit.js';

/** The emitters `hub codegen --lang` offers. A new language is one entry here plus its folder. */
export const emitters = {
  typescript: emitTypeScript,
  python: emitPython,
} as const satisfies Record<string, Emitter>;

export type Language = keyof typeof emitters;

export interface GenerateOptions extends BuildOptions {
  /** Target language (default `typescript`). */
  readonly lang?: Language;
  /** Output directory of the client package. */
  readonly out: string;
  /** Also write the IR as `ir.json`. */
  readonly emitIr?: boolean;
}

/** IR JSON as written to disk: stable key order, so the same schema gives the same bytes. */
export function irJson(ir: CodegenIR): string {
  return `${JSON.stringify(ir, null, 2)}\n`;
}

/** Walks the schema tree of `source` and writes a typed client package (TypeScript by default) to `out`. */
export async function generate(source: SchemaSource, options: GenerateOptions): Promise<{ ir: CodegenIR; files: EmittedFile[] }> {
  const lang = options.lang ?? 'typescript';
  const emit: Emitter | undefined = Object.hasOwn(emitters, lang) ? emitters[lang] : undefined;
  if (!emit) throw new Error(`Unknown language "${lang}": choose one of ${Object.keys(emitters).join(', ')}`);
  const ir = await buildIr(source, options);
  const files = await emit(ir);
  if (options.emitIr) files.push({ path: 'ir.json', content: irJson(ir) });
  mkdirSync(options.out, { recursive: true });
  for (const f of files) {
    mkdirSync(dirname(join(options.out, f.path)), { recursive: true });
    writeFileSync(join(options.out, f.path), f.content);
  }
  return { ir, files };
}
