import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { StreamItem } from '../../src/index.js';
import { REPO_ROOT } from './repo.js';

/** Every item of a stream, terminal ones included: the public helper, as a user would use it. */
export { collectItems as collect } from '../../src/index.js';

export function contents(items: readonly StreamItem[]): unknown[] {
  return items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content);
}

export function errorOf(items: readonly StreamItem[]): { message: string; code?: string } | undefined {
  const e = items.find((i) => i.type === 'error');
  return e as { message: string; code?: string } | undefined;
}

/**
 * Lets `ms` pass. Never to wait for a state (that is `eventually`): only where time
 * itself is the point, e.g. checking that nothing happens within a while.
 */
/**
 * A stream a withdrawn credential ended: the first `error` item is `-32001` with
 * `message`, exactly one `done` follows it, and only data came before it.
 */
export function assertEndsRefused(items: readonly any[], message: RegExp): void {
  const at = items.findIndex((i) => i.type === 'error');
  assert.ok(at >= 0, `no error item in ${JSON.stringify(items.slice(-3))}`);
  assert.equal(items[at].code, '-32001');
  assert.match(items[at].message, message);
  assert.deepEqual(
    items.slice(at + 1).map((i) => i.type),
    ['done'],
  );
  assert.ok(
    items.slice(0, at).every((i) => i.type === 'data'),
    'data, then the refusal',
  );
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until `check` is true (or fails after `ms`). The default is a ceiling for a
 * loaded machine (three test files on two cores), not a measure: a passing check
 * returns as soon as it holds, and 2 s was once too short for a first stream item.
 */
export async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await tick(5);
  }
}

/** Resolves once `read()` has kept its value for `quietMs` (a producer came to rest), or fails after `ms`. */
export async function steady(read: () => unknown, quietMs: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > until) throw new Error(`still changing after ${ms} ms`);
    await tick(5);
    const now = read();
    if (now !== value) [value, since] = [now, Date.now()];
  }
}

const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The flags beyond `--strict` users turn on; generated clients must compile under them too. */
export const STRICTER_TSC_FLAGS: readonly string[] = [
  '--exactOptionalPropertyTypes',
  '--noUncheckedIndexedAccess',
  '--noPropertyAccessFromIndexSignature',
];

/** `tsc --strict --noEmit` (plus `flags`) over a program and the generated client it imports; fails the test with tsc's output. */
export async function typecheckStrict(file: string, flags: readonly string[] = []): Promise<void> {
  const args = ['--strict', ...flags, '--noEmit', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext'];
  try {
    await promisify(execFile)(process.execPath, [TSC, ...args, '--skipLibCheck', '--types', 'node', file], { cwd: REPO_ROOT });
  } catch (e) {
    assert.fail(`tsc failed:\n${(e as { stdout: string }).stdout}`);
  }
}
