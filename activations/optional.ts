import type { DynamicHub } from '../src/index.js';

/**
 * Activations `hub serve --with` can add; each is loaded only when asked for
 * (better-sqlite3 is a native addon). `bash` and `claudecode` run programs: see
 * the README on what granting `execute` on them means.
 */
export const OPTIONAL_ACTIVATIONS = ['arbor', 'changelog', 'mustache', 'cone', 'bash', 'claudecode'] as const;
export type OptionalActivation = (typeof OPTIONAL_ACTIVATIONS)[number];

export interface OptionalSet {
  /** The instances to register. */
  readonly activations: object[];
  /** Call once they are registered (and every other activation too): changelog starts recording. */
  start(hub: DynamicHub): Promise<void>;
  /** Stops timers and closes the shared database. */
  close(): void;
}

/** Parses `arbor,changelog` into names; unknown names are an error that lists the known ones. */
export function parseOptional(list: string): OptionalActivation[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(OPTIONAL_ACTIVATIONS as readonly string[]).includes(n)) {
      throw new Error(`unknown activation "${n}" for --with (known: ${OPTIONAL_ACTIVATIONS.join(', ')})`);
    }
  }
  // cone and claudecode keep their conversations in arbor: asking for one brings arbor along, made first.
  if ((names.includes('cone') || names.includes('claudecode')) && !names.includes('arbor')) names.unshift('arbor');
  return [...new Set(names)].sort((a, b) => Number(b === 'arbor') - Number(a === 'arbor')) as OptionalActivation[];
}

/**
 * Settings of the configurable activations, as the config file spells them
 * (snake_case; `cli/hub-config.ts` checks them against the schema first).
 */
export interface ActivationSettings {
  readonly bash?: Readonly<Record<string, unknown>>;
  readonly claudecode?: Readonly<Record<string, unknown>>;
  /** cone's LLM services and models: the `$PLEXUS_LLM_CONFIG` form. */
  readonly cone?: Readonly<Record<string, unknown>>;
}

/** `{max_output_bytes: 5}` → `{maxOutputBytes: 5}`, renaming where the option's name differs. */
function camelOptions(
  settings: Readonly<Record<string, unknown>> | undefined,
  rename: Record<string, string> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings ?? {})) out[rename[k] ?? k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/**
 * Instantiates the named storage activations over one SQLite database,
 * `<dataDir>/hub.db` (WAL), shared by all of them.
 */
export async function createOptional(
  names: readonly OptionalActivation[],
  dataDir: string,
  settings: ActivationSettings = {},
): Promise<OptionalSet> {
  const activations: object[] = [];
  if (names.includes('bash')) {
    const { Bash } = await import('./bash.js');
    activations.push(new Bash(camelOptions(settings.bash)));
  }
  if (names.every((n) => n === 'bash')) return { activations, start: async () => {}, close: () => {} };
  const { openDataDir } = await import('./storage/sqlite.js');
  const db = openDataDir(dataDir);
  const closers: (() => void)[] = [];
  let changelog: import('./changelog/index.js').Changelog | undefined;
  let arbor: import('./arbor/index.js').Arbor | undefined;
  for (const name of names) {
    if (name === 'arbor') {
      const { Arbor } = await import('./arbor/index.js');
      const a = (arbor = new Arbor({ database: db }));
      activations.push(a);
      closers.push(() => a.close());
    } else if (name === 'cone') {
      if (!arbor) throw new Error('cone needs arbor: list arbor before cone in --with');
      const { Cone, LlmRegistry } = await import('./cone/index.js');
      const { SecretStore } = await import('../src/auth/index.js');
      // LLM services from the env (ANTHROPIC_API_KEY, OPENAI_BASE_URL, …), the data dir's secret store and the config (else $PLEXUS_LLM_CONFIG).
      const llm = new LlmRegistry({
        secrets: new SecretStore(dataDir),
        ...(settings.cone ? { config: settings.cone as import('./cone/index.js').LlmConfigFile } : {}),
      });
      const cone = new Cone({ arbor, llm });
      activations.push(cone);
      closers.unshift(() => cone.close());
    } else if (name === 'claudecode') {
      if (!arbor) throw new Error('claudecode needs arbor: list arbor before claudecode in --with');
      const { ClaudeCode } = await import('./claudecode/index.js');
      // The claude binary: the config's, else $PLEXUS_HUB_CLAUDE, else the reference's search list, else PATH.
      const cc = new ClaudeCode({ arbor, ...camelOptions(settings.claudecode, { binary: 'claudePath', kill_grace_ms: 'killGraceMs' }) });
      activations.push(cc);
      closers.unshift(() => cc.close());
    } else if (name === 'bash') {
      // made above: it needs no database
    } else if (name === 'changelog') {
      const { Changelog } = await import('./changelog/index.js');
      changelog = new Changelog({ database: db });
      activations.push(changelog);
      const c = changelog;
      closers.push(() => c.close());
    } else {
      const { Mustache } = await import('./mustache/index.js');
      const m = new Mustache({ database: db });
      activations.push(m);
      // Its render worker; the shared database stays open for the others.
      closers.push(() => m.close());
    }
  }
  return {
    activations,
    start: async (hub) => {
      await changelog?.attach(hub);
    },
    close: () => {
      for (const c of closers) c();
      if (db.open) db.close();
    },
  };
}
