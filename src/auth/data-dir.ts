import { resolve } from 'node:path';

/** Where a hub keeps its state: `--data-dir`, else `$PLEXUS_HUB_DATA`, else `./.plexus-hub`. */
export function resolveDataDir(option?: string): string {
  return resolve(option ?? process.env.PLEXUS_HUB_DATA ?? '.plexus-hub');
}
