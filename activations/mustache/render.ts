import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { MustacheError } from './errors.js';
import type { RenderLimits } from './limits.js';

/**
 * The worker's code, evaluated as CommonJS (`eval: true`), so there is no separate
 * module to resolve: it runs the same under tsx and from dist/. It renders with the
 * Rust `mustache` crate's escaping for `{{x}}`: exactly `& < > " '` (mustache.js alone
 * would also escape `/`, `` ` `` and `=`); missing keys render empty, no partials.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Mustache = require(workerData.mustache);
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (value) => String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
parentPort.on('message', ({ template, value, maxOutputBytes }) => {
  let output;
  try {
    output = Mustache.render(template, value, {}, { escape });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
    return;
  }
  const bytes = Buffer.byteLength(output);
  parentPort.postMessage(bytes > maxOutputBytes ? { outputBytes: bytes } : { output });
});
`;

type Reply = { output: string } | { error: string } | { outputBytes: number };

interface Job {
  readonly template: string;
  readonly value: unknown;
  readonly resolve: (output: string) => void;
  readonly reject: (err: Error) => void;
}

/** Heap of the render worker: a render that would build more than this is stopped, not the hub. */
const WORKER_HEAP_MB = 256;

/**
 * Renders templates off the event loop, one at a time, in a worker thread that is
 * terminated (and replaced for the next render) when a render passes its deadline or
 * the worker's heap limit: a template like `{{#a}}{{#a}}{{#a}}x…` over a long list
 * would otherwise block the hub for seconds.
 */
export class TemplateRenderer {
  readonly #limits: RenderLimits;
  readonly #queue: Job[] = [];
  #worker: Worker | undefined;
  #busy = false;
  #closed = false;

  constructor(limits: RenderLimits) {
    this.#limits = limits;
  }

  render(template: string, value: unknown): Promise<string> {
    if (this.#closed) return Promise.reject(MustacheError.render('the renderer is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ template, value, resolve, reject });
      this.#next();
    });
  }

  /** Stops the worker; pending renders fail. */
  close(): void {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(MustacheError.render('the renderer is closed'));
    void this.#worker?.terminate();
    this.#worker = undefined;
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { mustache: createRequire(import.meta.url).resolve('mustache') },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      // No inherited loader (tsx): the worker is plain CommonJS.
      execArgv: [],
    });
    worker.unref(); // an idle renderer must not keep the hub alive
    return worker;
  }

  #next(): void {
    if (this.#busy || this.#closed) return;
    const job = this.#queue.shift();
    if (!job) return;
    this.#busy = true;
    const fresh = this.#worker === undefined;
    const worker = (this.#worker ??= this.#spawn());
    const { timeoutMs, maxOutputBytes } = this.#limits;
    const settle = (outcome: () => void, replaceWorker: boolean) => {
      clearTimeout(timer);
      worker.off('online', startDeadline);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (replaceWorker) {
        void worker.terminate();
        if (this.#worker === worker) this.#worker = undefined;
      }
      this.#busy = false;
      outcome();
      this.#next();
    };
    const onMessage = (reply: Reply) =>
      settle(() => {
        if ('output' in reply) job.resolve(reply.output);
        else if ('error' in reply) job.reject(MustacheError.render(reply.error));
        else job.reject(MustacheError.limit(`the output is ${reply.outputBytes} bytes, over the limit of ${maxOutputBytes}`));
      }, false);
    const onError = (err: Error & { code?: string }) =>
      settle(
        () =>
          job.reject(
            err.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? MustacheError.limit(`the render needed more than ${WORKER_HEAP_MB} MB of memory; it was stopped`)
              : MustacheError.render(err.message),
          ),
        true,
      );
    const onExit = () => settle(() => job.reject(MustacheError.render('the render worker exited')), true);
    let timer: NodeJS.Timeout | undefined;
    const startDeadline = () => {
      timer = setTimeout(
        () => settle(() => job.reject(MustacheError.limit(`the render took longer than ${timeoutMs} ms; it was stopped`)), true),
        timeoutMs,
      );
    };
    // A new worker's start-up (tens of ms, more on a busy machine) is not the template's time.
    if (fresh) worker.once('online', startDeadline);
    else startDeadline();
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ template: job.template, value: job.value, maxOutputBytes });
  }
}
