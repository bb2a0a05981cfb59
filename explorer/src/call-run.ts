import type { PlexusClient } from './wire.js';

export type RunStatus = 'running' | 'done' | 'error' | 'cancelled' | 'failed';

/** Items kept for display; the count goes on beyond it. */
const KEEP = 10_000;
let nextId = 1;

/**
 * One call from the page: consumes the stream as it arrives and keeps what the
 * results view shows. `cancel()` aborts the client's iteration, which
 * unsubscribes on the server (its producer's `finally` runs).
 */
export class CallRun {
  readonly id = nextId++;
  readonly data: unknown[] = [];
  count = 0;
  progress?: { readonly message: string; readonly percentage?: number };
  error?: { readonly code?: string; readonly message: string };
  status: RunStatus = 'running';
  readonly started = performance.now();
  ended?: number;
  readonly #abort = new AbortController();
  readonly #listeners = new Set<() => void>();

  constructor(
    client: PlexusClient,
    readonly path: string,
    readonly params: Record<string, unknown>,
  ) {
    void this.#run(client);
  }

  onUpdate(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  cancel(): void {
    if (this.status === 'running') this.#abort.abort();
  }

  async #run(client: PlexusClient): Promise<void> {
    const signal = this.#abort.signal;
    try {
      for await (const item of client.call(this.path, this.params, { signal })) {
        if (item.type === 'data') {
          this.count++;
          this.data.push(item.content);
          if (this.data.length > KEEP) this.data.splice(0, this.data.length - KEEP);
        } else if (item.type === 'progress') {
          this.progress = { message: item.message, ...(item.percentage !== undefined ? { percentage: item.percentage } : {}) };
        } else if (item.type === 'error') {
          this.error = { message: item.message, ...(item.code !== undefined ? { code: item.code } : {}) };
          this.status = 'error';
        } else if (item.type === 'done' && this.status === 'running') {
          this.status = 'done';
        }
        this.#emit();
      }
      if (this.status === 'running') this.status = signal.aborted ? 'cancelled' : 'done';
    } catch (err) {
      this.status = signal.aborted ? 'cancelled' : 'failed';
      if (!signal.aborted) this.error = { message: (err as Error).message };
    }
    this.ended = performance.now();
    this.#emit();
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }
}
