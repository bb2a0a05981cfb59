import { resolve } from 'node:path';

/** `$PLEXUS_HUB_DATA`, else `./.plexus-hub/` (relative to the working directory). Kept free of imports so the CLI can use it without loading SQLite. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.PLEXUS_HUB_DATA || '.plexus-hub');
}
