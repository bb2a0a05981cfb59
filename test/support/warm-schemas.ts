/**
 * Fills the schema cache for every activation class of this repository that the suite
 * loads (the hub's root methods, activations/, test/fixtures/, examples/), in one extraction: one TypeScript
 * program for all of them. `npm test` runs it first (pretest). On a fresh clone the
 * cache is empty, and each test file or `hub` child meeting a class first ran the
 * checker for it alone (≈6 s of CPU each, often several files at once for the same
 * class); one batch costs about as much as two of those. Tests that are about
 * extraction itself use their own cache directories or none, so they stay cold.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { activationMetadata } from '../../src/activation/decorators.js';
import type { ExtractTarget } from '../../src/schema/extract.js';
import { schemaLoader } from '../../src/schema/loader.js';
import { REPO_ROOT } from './repo.js';

/** Declares a class whose extraction fails on purpose (a test of that error): it would split the batch. */
const FAILS_ON_PURPOSE = new Set(['test/fixtures/broken.ts']);

function modulesIn(dir: string, deep: boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (deep) found.push(...modulesIn(path, deep));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !FAILS_ON_PURPOSE.has(path)) {
      if (readFileSync(join(REPO_ROOT, path), 'utf8').includes('@activation(')) found.push(path);
    }
  }
  return found;
}

/** Loads every class's schema (a cache hit, or one batch for all misses); how many were extracted. */
export async function warmSchemas(): Promise<{ classes: number; extracted: number; failed: string[] }> {
  const targets: ExtractTarget[] = [];
  for (const path of [
    ...modulesIn('src', true),
    ...modulesIn('activations', true),
    ...modulesIn('test/fixtures', false),
    ...modulesIn('examples', false),
  ]) {
    const module = (await import(pathToFileURL(join(REPO_ROOT, path)).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      const meta = activationMetadata(value);
      if (meta) targets.push({ className: meta.className, sourceFile: meta.sourceFile, methodKeys: meta.methods.map((m) => m.key) });
    }
  }
  // All requested in one tick: the loader batches them into one extraction.
  const results = await Promise.allSettled(targets.map((t) => schemaLoader.load(t)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${targets[i]!.className}: ${String(r.reason)}`] : []));
  return { classes: targets.length, extracted: schemaLoader.stats.extracted, failed };
}
