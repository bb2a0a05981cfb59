import { claimQuestions, questionOf, type Question, type QuestionOutcome } from './questions.js';
import { CANCELLED, type ClientRequest, type PlexusClient } from './wire.js';

export type RunStatus = 'running' | 'done' | 'error' | 'cancelled' | 'failed';

/** Items kept for display; the count goes on beyond it. */
const KEEP = 10_000;
/** How much before our deadline the server's timeout may end a call (its clock started first). */
const EXPIRY_SLACK_MS = 500;
let nextId = 1;

/**
 * One call from the page: consumes the stream as it arrives and keeps what the
 * results view shows. `cancel()` aborts the client's iteration, which
 * unsubscribes on the server (its producer's `finally` runs). Questions the
 * method asks wait in `question` until `answer()`, `decline()`, their timeout
 * or the end of the call.
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
  /** The question waiting for the user, if any. */
  question?: Question;
  /** How the last question ended (shown once the form closes). */
  lastQuestion?: { readonly prompt: string; readonly outcome: QuestionOutcome; readonly timeoutMs: number };
  readonly #abort = new AbortController();
  readonly #listeners = new Set<() => void>();
  #settle?: (answer: unknown, outcome: QuestionOutcome) => void;

  constructor(
    client: PlexusClient,
    readonly path: string,
    readonly params: Record<string, unknown>,
  ) {
    const release = claimQuestions(path, (request) => this.#ask(request));
    void this.#run(client).finally(release);
  }

  onUpdate(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  cancel(): void {
    if (this.status !== 'running') return;
    // The client waits for an answer before it reads on: decline first, then leave.
    this.#settle?.(CANCELLED, 'cancelled');
    this.#abort.abort();
  }

  answer(value: unknown): void {
    this.#settle?.(value, 'answered');
  }

  decline(): void {
    this.#settle?.(CANCELLED, 'declined');
  }

  #ask(request: ClientRequest): Promise<unknown> {
    this.#settle?.(CANCELLED, 'declined'); // one question at a time: a newer one replaces it
    if (this.status !== 'running') return Promise.resolve(CANCELLED);
    const question = questionOf(request, performance.now());
    return new Promise((resolve) => {
      // The server stopped waiting before we did (it sent the item first), so a late
      // decline only meets its timeout; the stream then says how the method took it.
      const timer = setTimeout(() => settle(CANCELLED, 'expired'), question.timeoutMs);
      // The client aborts the question when it can no longer be answered. At the server's
      // timeout the call ends a transit time before our own deadline, so near it that is expiry.
      const onAbort = (): void => {
        const timedOut = (request.signal.reason as Error | undefined)?.name === 'TimeoutError';
        settle(CANCELLED, timedOut || performance.now() >= question.deadline - EXPIRY_SLACK_MS ? 'expired' : 'cancelled');
      };
      request.signal.addEventListener('abort', onAbort, { once: true });
      const settle = (answer: unknown, outcome: QuestionOutcome): void => {
        clearTimeout(timer);
        request.signal.removeEventListener('abort', onAbort);
        this.#settle = undefined;
        this.question = undefined;
        this.lastQuestion = { prompt: question.prompt, outcome, timeoutMs: question.timeoutMs };
        resolve(answer);
        this.#emit();
      };
      this.#settle = settle;
      this.question = question;
      this.#emit();
      if (request.signal.aborted) onAbort();
    });
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
    this.#settle?.(CANCELLED, 'cancelled');
    this.ended = performance.now();
    this.#emit();
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }
}
