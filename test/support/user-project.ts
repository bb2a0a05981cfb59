import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './repo.js';

/**
 * A user's project at `dir`: its node_modules has plexus-hub (a symlink to this checkout,
 * as `npm link` or a workspace makes it), and it holds the given files (relative path → text).
 */
export function userProject(dir: string, files: Record<string, string>): string {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'plexus-hub'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}
