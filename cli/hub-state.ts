import { type ActivationSettings, type OptionalActivation, parseOptional } from '../activations/optional.js';
import { resolveDataDir } from '../src/auth/index.js';
import { type HubConfig, readHubConfig } from './hub-config.js';

/** What `addStateOptions` parsed. */
export interface StateOptionValues {
  readonly with?: OptionalActivation[];
  readonly dataDir?: string;
  readonly config?: string;
}

/** A serving command's state: the one data dir (tokens, audit log, hub.db), the opt-in activations to load and their settings. */
export interface HubState {
  readonly dataDir: string;
  readonly with: readonly OptionalActivation[];
  readonly settings: ActivationSettings;
  /** The config file, when one was given. */
  readonly config?: HubConfig;
}

/**
 * Resolves the state once, so auth and storage cannot disagree on where it lives:
 * flags win over the config file, and without either the data dir falls back as
 * `resolveDataDir` says ($PLEXUS_HUB_DATA, else ./.plexus-hub).
 */
export function hubState(opts: StateOptionValues): HubState {
  const config = opts.config ? readHubConfig(opts.config) : undefined;
  return {
    dataDir: resolveDataDir(opts.dataDir || config?.dataDir),
    with: opts.with ?? (config?.with ? parseOptional(config.with.join(',')) : []),
    settings: {
      ...(config?.bash ? { bash: config.bash } : {}),
      ...(config?.claudecode ? { claudecode: config.claudecode } : {}),
      ...(config?.cone ? { cone: config.cone } : {}),
    },
    ...(config ? { config } : {}),
  };
}
