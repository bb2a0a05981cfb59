/**
 * `bin/hub.js` runs the compiled framework (dist/), as an installed package does.
 * Tests that spawn it call `ensureBuilt()` so they test the current sources: `npm test`
 * builds first (pretest); a single test file run by hand rebuilds here when a source
 * is newer than dist/. A lock directory keeps concurrent test files from building twice.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from './repo.js';

const STAMP = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const LOCK = join(REPO_ROOT, 'dist.build-lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function stale(): boolean {
  let built: number;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    return true;
  }
  return ['src', 'cli', 'activations', 'codegen'].some((d) => newestSource(join(REPO_ROOT, d)) > built);
}

export function ensureBuilt(): void {
  if (!stale()) return;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building: wait for it, then check again. A lock left
      // by a killed run (older than a build could take) is taken over.
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 120_000) rmdirSync(LOCK);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      if (!stale()) return;
    }
  }
  try {
    if (!stale()) return;
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
    // As `npm run build`: the framework's entries bundled in place (what ships).
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/bundle-framework.mjs')], { stdio: 'inherit' });
    // Then the schemas of the package's own classes, shipped in dist/schemas.json.
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/ship-schemas.mjs')], { stdio: 'inherit' });
  } finally {
    rmdirSync(LOCK);
  }
}
