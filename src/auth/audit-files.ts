/**
 * The files of one audit chain. The hub appends to `audit.jsonl`; once it reaches
 * the rotation size it is renamed `audit.jsonl.1`, then `.2`, … (numbered oldest
 * first, never renamed again) and a new `audit.jsonl` continues the same chain: its
 * first record's `prev` is the last hash of the file before.
 *
 * Imports only Node built-ins: the writer thread (audit-worker.ts) uses it too.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Rotate once the current file reaches this many bytes (64 MiB). */
export const DEFAULT_ROTATE_BYTES = 64 * 1024 * 1024;

export function rotatedFile(file: string, n: number): string {
  return `${file}.${n}`;
}

/** The numbers of the rotated files of `file`, ascending (oldest first). */
export function rotatedNumbers(file: string): number[] {
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^[1-9]\d*$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => a - b);
}

/** Every file of the chain in order: the rotated ones oldest first, then `file` itself. */
export function chainFiles(file: string): string[] {
  return [...rotatedNumbers(file).map((n) => rotatedFile(file, n)), file];
}
