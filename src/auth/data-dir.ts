import { resolve } from 'node:path';

/** The data dir when neither `--data-dir` nor `$PLEXUS_HUB_DATA` names one (relative to the working directory). */
const DEFAULT_DATA_DIR = '.plexus-hub';

/**
 * Where a hub keeps its state (tokens.json, audit.jsonl, hub.db): `option` (the
 * `--data-dir` flag, or a config file's `data_dir`), else `$PLEXUS_HUB_DATA`, else
 * `./.plexus-hub`, as an absolute path. An empty value counts as unset, so
 * `PLEXUS_HUB_DATA=` never means "the working directory". Auth, the storage
 * activations and the CLI all resolve it here, so their files land together.
 */
export function resolveDataDir(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option || env.PLEXUS_HUB_DATA || DEFAULT_DATA_DIR);
}
