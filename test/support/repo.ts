import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, with a trailing slash: tests run `bin/hub.js` and read fixtures relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The `hub` CLI, as an installed package runs it (the compiled dist/, see built.ts). */
export const HUB_BIN = join(REPO_ROOT, 'bin', 'hub.js');
