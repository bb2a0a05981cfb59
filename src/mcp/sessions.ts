/**
 * The live sessions of the MCP HTTP endpoint, bounded: a session that has had no
 * request in flight for `idleMs` is closed, and at `maxSessions` a new session
 * evicts the one idle the longest (or is refused when every session is busy).
 * Each session holds an MCP server and a hub change listener (~37 KB), so an
 * unbounded table is a way for one client to exhaust memory.
 */

import { DEFAULT_MCP_MAX_SESSIONS, DEFAULT_MCP_SESSION_IDLE_MS } from './limits.js';

export interface ClosableSession {
  close(): Promise<void>;
}

interface Entry<S> {
  readonly session: S;
  /** Requests (and open SSE streams) in flight. */
  active: number;
  /** When the last request ended (or began, while none ended yet). */
  lastSeen: number;
}

export class SessionTable<S extends ClosableSession> {
  readonly #entries = new Map<string, Entry<S>>();
  readonly #reaper: NodeJS.Timeout;

  constructor(
    readonly maxSessions = DEFAULT_MCP_MAX_SESSIONS,
    readonly idleMs = DEFAULT_MCP_SESSION_IDLE_MS,
    private readonly now: () => number = Date.now,
  ) {
    // Checked at a fraction of the timeout, so a session outlives it by at most a quarter.
    this.#reaper = setInterval(() => this.reap(), Math.max(10, Math.min(idleMs / 4, 60_000)));
    this.#reaper.unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): S | undefined {
    return this.#entries.get(id)?.session;
  }

  add(id: string, session: S): void {
    this.#entries.set(id, { session, active: 0, lastSeen: this.now() });
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  /** Marks a request of the session in flight; the returned function ends it. */
  begin(id: string): () => void {
    const entry = this.#entries.get(id);
    if (!entry) return () => {};
    entry.active++;
    entry.lastSeen = this.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.active--;
      entry.lastSeen = this.now();
    };
  }

  /**
   * Makes room for one more session: true when there is room (after evicting the
   * session idle the longest if the table was full), false when every session is busy.
   */
  async makeRoom(): Promise<boolean> {
    if (this.#entries.size < this.maxSessions) return true;
    let oldest: [string, Entry<S>] | undefined;
    for (const pair of this.#entries) {
      if (pair[1].active === 0 && (!oldest || pair[1].lastSeen < oldest[1].lastSeen)) oldest = pair;
    }
    if (!oldest) return false;
    this.#entries.delete(oldest[0]);
    await oldest[1].session.close();
    return true;
  }

  /** Closes the sessions idle for longer than `idleMs`. */
  reap(): void {
    const limit = this.now() - this.idleMs;
    for (const [id, entry] of this.#entries) {
      if (entry.active === 0 && entry.lastSeen <= limit) {
        this.#entries.delete(id);
        void entry.session.close().catch(() => {});
      }
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#reaper);
    const sessions = [...this.#entries.values()].map((e) => e.session);
    this.#entries.clear();
    await Promise.all(sessions.map((s) => s.close().catch(() => {})));
  }
}
