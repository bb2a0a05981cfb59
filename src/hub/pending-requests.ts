import { randomUUID } from 'node:crypto';
import type { JsonSchema, RequestOptions } from '../activation/types.js';
import { valueProblem } from '../schema/validate.js';
import type { RequestItem, WireForm } from '../wire/items.js';
import { isNoAnswer, standardRequest, taggedAnswer } from './standard-request.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import { CANCELLED_ANSWER } from '../wire/jsonrpc.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export { CANCELLED_ANSWER };

export function isCancelledAnswer(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { type?: unknown }).type === 'cancelled' &&
    Object.keys(value).length === 1
  );
}

interface Pending {
  readonly schema?: JsonSchema;
  /** Asked in the turn form (tagged): a tagged answer is read first, else the bare value first. */
  readonly tagged: boolean;
  resolve(value: unknown): void;
  reject(error: PlexusError): void;
}

/**
 * Questions methods have asked and are waiting on, by request id. One registry per
 * hub: any connection (or the MCP bridge) that knows an id may answer it, as in
 * the reference, whose registry is process-global.
 */
export class PendingRequests {
  readonly #pending = new Map<string, Pending>();

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a question and returns the item that carries it and the answer.
   * The answer settles once: on `respond`, `reject`, timeout or `signal` abort;
   * the entry is gone after that, so a late answer is an unknown id.
   */
  ask<T>(question: RequestOptions, signal: AbortSignal, wire: WireForm = 'legacy'): { item: RequestItem; answer: Promise<T> } {
    const { prompt, schema } = question;
    if (typeof prompt !== 'string' || !prompt) throw new TypeError('ctx.request: `prompt` must be a non-empty string');
    const timeoutMs = question.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new TypeError('ctx.request: `timeoutMs` must be a positive integer');
    const requestId = randomUUID();
    const tagged = wire === 'turns';
    const requestData = tagged ? standardRequest(prompt, schema) : { prompt, ...(schema ? { schema } : {}) };
    const item: RequestItem = { type: 'request', requestId, requestData, timeoutMs };
    const answer = new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        this.#pending.delete(requestId);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        settle();
        reject(new PlexusError(ErrorCode.RequestFailed, `Request cancelled: the call ended while waiting for an answer to "${prompt}"`));
      };
      const timer = setTimeout(() => {
        settle();
        reject(new PlexusError(ErrorCode.RequestFailed, `Request timed out waiting for response (after ${timeoutMs}ms): ${prompt}`, true));
      }, timeoutMs);
      timer.unref?.();
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(requestId, {
        ...(schema ? { schema } : {}),
        tagged,
        resolve: (value) => {
          settle();
          resolve(value as T);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
    });
    return { item, answer };
  }

  /**
   * Delivers an answer (`<root>.respond`). Throws a PlexusError for an unknown id;
   * a declined or invalid answer settles the request (the method sees why) and
   * also throws, so the responder learns it too.
   */
  respond(requestId: string, responseData: unknown): void {
    const pending = this.#pending.get(requestId);
    if (!pending) {
      throw new PlexusError(ErrorCode.InvalidParams, `Unknown request ID: ${requestId}. The request may have timed out or been cancelled.`);
    }
    if (isCancelledAnswer(responseData)) {
      pending.reject(new PlexusError(ErrorCode.RequestFailed, 'Request declined by the caller'));
      return;
    }
    // Both answer forms are taken: the bare value, and the reference's tagged
    // `StandardResponse` (`{"type": "confirmed", "value": true}`), the form asked in first.
    const unwrapped = taggedAnswer(responseData, pending.schema);
    const candidates = isNoAnswer(unwrapped) ? [responseData] : pending.tagged ? [unwrapped, responseData] : [responseData, unwrapped];
    let problem: string | undefined;
    for (const candidate of candidates) {
      const p = pending.schema ? valueProblem(pending.schema, candidate) : undefined;
      if (p === undefined) return pending.resolve(candidate);
      problem ??= p;
    }
    const error = new PlexusError(ErrorCode.InvalidParams, `Invalid response: ${problem}`);
    pending.reject(error);
    throw error;
  }

  /** Fails a request from the answering side (e.g. an MCP client that cannot elicit). */
  reject(requestId: string, message: string): boolean {
    const pending = this.#pending.get(requestId);
    pending?.reject(new PlexusError(ErrorCode.RequestFailed, message));
    return pending !== undefined;
  }
}
