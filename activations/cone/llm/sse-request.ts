import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { LlmError, LlmErrorCode, codeForProviderType, codeForStatus, retryAfterMs } from './errors.js';
import { redact, type Secret } from './secret.js';

export interface SseRequest {
  /** Service name, for messages. */
  readonly service: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  /** Used only to scrub the key out of error text. */
  readonly secret?: Secret;
  /** Until the response headers arrive. */
  readonly requestTimeoutMs: number;
  /** Longest silence allowed between two chunks of the body. */
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal;
}

/** How much of an error body (or a bad line) is quoted in a message. */
const QUOTE_LIMIT = 300;
const ERROR_BODY_LIMIT = 64 * 1024;

const quote = (text: string, secret?: Secret) => {
  const clean = redact(text, secret).replace(/\s+/g, ' ').trim();
  return clean.length > QUOTE_LIMIT ? `${clean.slice(0, QUOTE_LIMIT)}…` : clean;
};

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

/** `{error: {message, type|code|status}}` (OpenAI, Anthropic and Gemini alike), `{message}`, or plain text. */
export function describeErrorBody(text: string): { message: string; type?: string } {
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown };
    const err = json.error;
    if (err && typeof err === 'object') {
      const e = err as { message?: unknown; type?: unknown; code?: unknown; status?: unknown };
      // OpenAI's `code` (invalid_api_key, rate_limit_exceeded) says more than its `type` (invalid_request_error);
      // Google's `status` (RESOURCE_EXHAUSTED) stands beside a numeric `code`.
      const type =
        typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : typeof e.status === 'string' ? e.status : undefined;
      return { message: typeof e.message === 'string' ? e.message : JSON.stringify(err), ...(type ? { type } : {}) };
    }
    if (typeof err === 'string') return { message: err };
    if (typeof json.message === 'string') return { message: json.message };
  } catch {
    /* not JSON: quote the text */
  }
  return { message: text };
}

/**
 * POSTs a JSON body and yields the server-sent events of the answer as they are
 * parsed. Owns the HTTP lifetime: the request is aborted when `signal` aborts,
 * when a timeout fires, or when the consumer stops early (so the provider sees
 * the connection close). Every failure is an `LlmError` with the key scrubbed out.
 */
export async function* requestSse(req: SseRequest): AsyncGenerator<EventSourceMessage, void, undefined> {
  const { signal, secret, service } = req;
  if (signal?.aborted) throw abortError(signal);
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ms);
  };
  let finished = false;
  try {
    arm(req.requestTimeoutMs);
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...req.headers },
        body: JSON.stringify(req.body),
        signal: controller.signal,
      });
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      if (timedOut)
        throw new LlmError(LlmErrorCode.Timeout, `${service} sent no response within ${req.requestTimeoutMs} ms`, { phase: 'start' });
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new LlmError(LlmErrorCode.Unreachable, `cannot reach ${service} at ${new URL(req.url).origin}: ${quote(why, secret)}`, {
        phase: 'start',
      });
    }

    if (!res.ok) {
      let text = '';
      try {
        text = (await res.text()).slice(0, ERROR_BODY_LIMIT);
      } catch {
        /* the status alone says enough */
      }
      if (signal?.aborted) throw abortError(signal);
      const body = describeErrorBody(text);
      const wait = retryAfterMs(res.headers);
      // The status decides; the provider's error type only refines a plain 400.
      const byStatus = codeForStatus(res.status);
      const code = res.status === 400 ? codeForProviderType(body.type, byStatus) : byStatus;
      const detail = body.message ? `: ${quote(body.message, secret)}` : '';
      const after = wait !== undefined ? `; retry after ${wait / 1000} s` : '';
      throw new LlmError(code, `${service} answered HTTP ${res.status}${body.type ? ` (${body.type})` : ''}${detail}${after}`, {
        phase: 'start',
        status: res.status,
        ...(wait !== undefined ? { retryAfterMs: wait } : {}),
        ...(body.type ? { providerType: body.type } : {}),
      });
    }

    const type = res.headers.get('content-type') ?? '';
    if (!type.toLowerCase().startsWith('text/event-stream')) {
      const text = await res.text().catch(() => '');
      throw new LlmError(
        LlmErrorCode.Malformed,
        `${service} answered ${type || 'no content type'} instead of an event stream: ${quote(text, secret)}`,
        {
          phase: 'start',
          status: res.status,
        },
      );
    }
    if (!res.body)
      throw new LlmError(LlmErrorCode.Malformed, `${service} answered with an empty body`, { phase: 'start', status: res.status });

    const events: EventSourceMessage[] = [];
    let bad: ParseError | undefined;
    /** Events parsed before the bad line still count. */
    let goodEvents = 0;
    const parser = createParser({
      onEvent: (e) => {
        if (!bad) events.push(e);
      },
      onError: (e) => {
        // Unknown fields are how a non-SSE line shows up; a bad `retry:` is harmless.
        if (e.type !== 'invalid-retry' && !bad) {
          bad = e;
          goodEvents = events.length;
        }
      },
    });
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    for (;;) {
      arm(req.idleTimeoutMs);
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch {
        if (signal?.aborted) throw abortError(signal);
        if (timedOut)
          throw new LlmError(LlmErrorCode.Timeout, `${service} sent nothing for ${req.idleTimeoutMs} ms in the middle of the answer`, {
            phase: 'stream',
          });
        throw new LlmError(LlmErrorCode.StreamCut, `${service} closed the connection in the middle of the answer`, { phase: 'stream' });
      } finally {
        clearTimeout(timer);
      }
      if (chunk.done) {
        parser.feed(decoder.decode());
        parser.reset({ consume: true });
      } else {
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
      if (bad) {
        for (const e of events.splice(0, goodEvents)) yield e;
        throw new LlmError(
          LlmErrorCode.Malformed,
          `${service} sent a line that is not server-sent events: ${quote(bad.line ?? bad.message, secret)}`,
          { phase: 'stream' },
        );
      }
      while (events.length > 0) yield events.shift()!;
      if (chunk.done) break;
    }
    finished = true;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    // The consumer stopped early (an error event, a cancel): close the connection so the provider stops generating.
    if (!finished) controller.abort();
  }
}

/** Parses one event's JSON data, or fails as a malformed stream. */
export function parseEventJson<T>(service: string, event: EventSourceMessage, secret?: Secret): T {
  try {
    return JSON.parse(event.data) as T;
  } catch {
    throw new LlmError(LlmErrorCode.Malformed, `${service} sent an event whose data is not JSON: ${quote(event.data, secret)}`, {
      phase: 'stream',
    });
  }
}
