import { type OptionalActivation, readStorageConfig } from '../activations/optional.js';
import { resolveDataDir } from '../src/auth/index.js';

/** What `addStateOptions` parsed. */
export interface StateOptionValues {
  readonly with?: OptionalActivation[];
  readonly dataDir?: string;
  readonly config?: string;
}

/** A serving command's state: the one data dir (tokens, audit log, hub.db) and the opt-in activations to load. */
export interface HubState {
  readonly dataDir: string;
  readonly with: readonly OptionalActivation[];
}

/**
 * Resolves the state once, so auth and storage cannot disagree on where it lives:
 * flags win over the config file, and without either the data dir falls back as
 * `resolveDataDir` says ($PLEXUS_HUB_DATA, else ./.plexus-hub).
 */
export function hubState(opts: StateOptionValues): HubState {
  const config = opts.config ? readStorageConfig(opts.config) : undefined;
  return { dataDir: resolveDataDir(opts.dataDir || config?.dataDir), with: opts.with ?? config?.with ?? [] };
}
