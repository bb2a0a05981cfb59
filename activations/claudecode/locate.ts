import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * The `claude` binary: `explicit` (an option or `$PLEXUS_HUB_CLAUDE`), else the
 * first executable of the reference's search list, else the first `claude` on
 * PATH, else plain `claude` (spawning then fails with a clear ENOENT error).
 */
export function locateClaude(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit ?? env.PLEXUS_HUB_CLAUDE;
  if (chosen) return chosen;
  const home = homedir();
  const candidates = [
    join(home, '.claude/local/claude'),
    join(home, '.npm/bin/claude'),
    join(home, '.bun/bin/claude'),
    join(home, '.local/bin/claude'),
    '/usr/local/bin/claude',
    '/opt/homebrew/bin/claude',
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'claude')),
  ];
  return candidates.find(isExecutable) ?? 'claude';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
