import type { RunStatus } from './call-run.js';

/** One call made from this page, as kept in the browser. */
export interface HistoryEntry {
  readonly path: string;
  readonly params: Record<string, unknown>;
  /** When it was called (epoch ms): also the entry's identity. */
  readonly at: number;
  readonly status?: RunStatus;
}

export const HISTORY_LIMIT = 50;
/** Params bigger than this (as JSON) are not worth keeping: the call is not recorded. */
const MAX_PARAMS_CHARS = 20_000;
const KEY = 'plexus-explorer.history';

/** What it needs of `localStorage`. */
type Store = { getItem(key: string): string | null; setItem(key: string, value: string): void };

const isEntry = (v: unknown): v is HistoryEntry => {
  const e = v as Partial<HistoryEntry> | null;
  return (
    !!e && typeof e.path === 'string' && typeof e.at === 'number' && !!e.params && typeof e.params === 'object' && !Array.isArray(e.params)
  );
};

/**
 * The last calls (newest first, at most 50), kept in `localStorage`, which is per
 * origin and so per hub. Calling the same method with the same params again moves
 * its entry to the top. A storage that is full, disabled or holds garbage costs
 * the history, never the page.
 */
export class CallHistory {
  #entries: HistoryEntry[];
  readonly #listeners = new Set<() => void>();
  readonly #store: Store | undefined;

  constructor(store: Store | undefined) {
    this.#store = store;
    this.#entries = this.#load();
  }

  get entries(): readonly HistoryEntry[] {
    return this.#entries;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  add(path: string, params: Record<string, unknown>, at = Date.now()): HistoryEntry | undefined {
    const json = JSON.stringify(params);
    if (json.length > MAX_PARAMS_CHARS) return undefined;
    const entry: HistoryEntry = { path, params, at };
    const rest = this.#entries.filter((e) => !(e.path === path && JSON.stringify(e.params) === json));
    this.#save([entry, ...rest].slice(0, HISTORY_LIMIT));
    return entry;
  }

  setStatus(entry: HistoryEntry, status: RunStatus): void {
    if (!this.#entries.some((e) => e.at === entry.at && e.path === entry.path)) return;
    this.#save(this.#entries.map((e) => (e.at === entry.at && e.path === entry.path ? { ...e, status } : e)));
  }

  clear(): void {
    this.#save([]);
  }

  #load(): HistoryEntry[] {
    try {
      const parsed = JSON.parse(this.#store?.getItem(KEY) ?? '[]') as unknown;
      return Array.isArray(parsed) ? parsed.filter(isEntry).slice(0, HISTORY_LIMIT) : [];
    } catch {
      return [];
    }
  }

  #save(entries: HistoryEntry[]): void {
    this.#entries = entries;
    try {
      this.#store?.setItem(KEY, JSON.stringify(entries));
    } catch {
      // Full or disabled: this page's history still works until it is closed.
    }
    for (const l of this.#listeners) l();
  }
}

function localStore(): Store | undefined {
  try {
    return (globalThis as { localStorage?: Store }).localStorage;
  } catch {
    return undefined; // a sandboxed page may throw just for asking
  }
}

/** The page's history. */
export const callHistory = new CallHistory(localStore());

/** A re-run asked for from another view: the method view of `path` picks it up when it opens. */
let pending: HistoryEntry | undefined;
export function requestRerun(entry: HistoryEntry): void {
  pending = entry;
}
export function takeRerun(path: string): HistoryEntry | undefined {
  const entry = pending?.path === path ? pending : undefined;
  if (entry) pending = undefined;
  return entry;
}
