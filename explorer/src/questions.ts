import { CANCELLED, type ClientRequest, type JsonSchema } from './wire.js';

/**
 * A question a running method asks (a `request` item). The client waits for the
 * answer before it reads the call's next item, so every question is settled exactly
 * once: answered, declined, timed out, or declined because the call was cancelled.
 */
export interface Question {
  readonly requestId: string;
  readonly prompt: string;
  /** The answer's schema; undefined means any JSON. */
  readonly schema?: JsonSchema;
  readonly timeoutMs: number;
  /** `performance.now()` when the server stops waiting. */
  readonly deadline: number;
}

export type QuestionOutcome = 'answered' | 'declined' | 'expired' | 'cancelled';

/** `ctx.request()` sends `{ prompt, schema? }`; anything else is shown as JSON and answered as any JSON. */
export function questionOf(request: ClientRequest, now: number): Question {
  const data = request.data as { prompt?: unknown; schema?: unknown } | null;
  const isRecord = !!data && typeof data === 'object' && !Array.isArray(data);
  const prompt = isRecord && typeof data.prompt === 'string' ? data.prompt : JSON.stringify(request.data);
  const schema = isRecord && data.schema && typeof data.schema === 'object' ? (data.schema as JsonSchema) : undefined;
  return {
    requestId: request.requestId,
    prompt,
    ...(schema ? { schema } : {}),
    timeoutMs: request.timeoutMs,
    deadline: now + request.timeoutMs,
  };
}

type Asker = (request: ClientRequest) => Promise<unknown>;

/** The page's calls that can answer questions, by method path: the newest call of a path answers. */
const askers = new Map<string, Asker>();

/** The client's `onRequest`: hands a question to the call that asked it, or declines. */
export function routeQuestion(request: ClientRequest): unknown {
  const asker = askers.get(request.path);
  return asker ? asker(request) : CANCELLED;
}

/** Makes `asker` answer the questions of calls to `path`; returns the release. */
export function claimQuestions(path: string, asker: Asker): () => void {
  askers.set(path, asker);
  return () => {
    if (askers.get(path) === asker) askers.delete(path);
  };
}
