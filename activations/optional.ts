import type { DynamicHub } from '../src/index.js';

/** Activations `hub serve --with` can add; each is loaded only when asked for (better-sqlite3 is a native addon). */
export const OPTIONAL_ACTIVATIONS = ['arbor', 'changelog', 'mustache'] as const;
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
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(OPTIONAL_ACTIVATIONS as readonly string[]).includes(n)) {
      throw new Error(`unknown activation "${n}" for --with (known: ${OPTIONAL_ACTIVATIONS.join(', ')})`);
    }
  }
  return [...new Set(names)] as OptionalActivation[];
}

/**
 * Instantiates the named storage activations over one SQLite database,
 * `<dataDir>/hub.db` (WAL), shared by all of them.
 */
export async function createOptional(names: readonly OptionalActivation[], dataDir: string): Promise<OptionalSet> {
  if (names.length === 0) return { activations: [], start: async () => {}, close: () => {} };
  const { openDataDir } = await import('./storage/sqlite.js');
  const db = openDataDir(dataDir);
  const activations: object[] = [];
  const closers: (() => void)[] = [];
  let changelog: import('./changelog/index.js').Changelog | undefined;
  for (const name of names) {
    if (name === 'arbor') {
      const { Arbor } = await import('./arbor/index.js');
      const arbor = new Arbor({ database: db });
      activations.push(arbor);
      closers.push(() => arbor.close());
    } else if (name === 'changelog') {
      const { Changelog } = await import('./changelog/index.js');
      changelog = new Changelog({ database: db });
      activations.push(changelog);
      const c = changelog;
      closers.push(() => c.close());
    } else {
      const { Mustache } = await import('./mustache/index.js');
      activations.push(new Mustache({ database: db }));
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
