/**
 * One turn at a time per session. A cancelled turn frees its session at once (its
 * process is being killed and it writes nothing more to the head), so the caller
 * can start the next turn.
 */
export class SessionLocks {
  readonly #busy = new Map<string, symbol>();

  /** Marks the session busy; returns its release, or undefined when a turn already runs. */
  acquire(sessionId: string, signal?: AbortSignal): (() => void) | undefined {
    if (this.#busy.has(sessionId)) return undefined;
    const token = Symbol(sessionId);
    const release = () => {
      signal?.removeEventListener('abort', release);
      if (this.#busy.get(sessionId) === token) this.#busy.delete(sessionId);
    };
    this.#busy.set(sessionId, token);
    signal?.addEventListener('abort', release, { once: true });
    return release;
  }
}

/** `events`, then `release` once they end, fail or are abandoned. */
export async function* releasing<T>(events: AsyncGenerator<T>, release: () => void): AsyncGenerator<T> {
  try {
    yield* events;
  } finally {
    release();
  }
}
