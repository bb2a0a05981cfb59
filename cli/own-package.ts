import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The plexus-hub package this command runs from (dist/cli/ in an install, cli/ under
 * tsx): its directory and manifest. What `hub init` pins as the dependency and what
 * `hub agent export` starts as the `hub` binary, by absolute path.
 */
export interface OwnPackage {
  readonly dir: string;
  readonly manifest: {
    name: string;
    version: string;
    dependencies?: Record<string, string>;
    allowScripts?: Record<string, boolean>;
  };
}

export function ownPackage(): OwnPackage {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    if (manifest.name === 'plexus-hub') return { dir, manifest };
  }
  throw new Error('cannot find the plexus-hub package.json');
}

/** The `hub` binary of this package, as a host with a bare PATH (Claude Desktop) must start it: node and the script, absolute. */
export function hubCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: [join(ownPackage().dir, 'bin', 'hub.js')] };
}
