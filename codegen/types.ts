import type { CodegenIR } from './ir.js';

/** One file of a generated client package, at its path relative to the package root. */
export interface EmittedFile {
  readonly path: string;
  readonly content: string;
}

/** An emitter turns the IR into the files of a client package, in one language. Same IR → same bytes. */
export type Emitter = (ir: CodegenIR) => Promise<EmittedFile[]>;
