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
  /** The principal of the call that asked (undefined: trusted in-process code). */
  readonly askedOf: unknown;
  resolve(value: unknown): void;
  reject(error: PlexusError): void;
}

/**
 * Is `answering` the caller a question was asked of? A principal of the hub's auth is
 * one caller per token (any of its connections), else per kind and name (every open
 * connection is one caller, the owner another); any other principal (a string, say)
 * only itself. Read by shape: the hub does not depend on auth (see .dependency-cruiser.cjs).
 */
function sameCaller(askedOf: unknown, answering: unknown): boolean {
  if (askedOf === answering) return true;
  if (typeof askedOf !== 'object' || askedOf === null || typeof answering !== 'object' || answering === null) return false;
  const a = askedOf as { kind?: unknown; name?: unknown; tokenId?: unknown };
  const b = answering as typeof a;
  return typeof a.kind === 'string' && a.kind === b.kind && a.name === b.name && a.tokenId === b.tokenId;
}

/**
 * Questions methods have asked and are waiting on, by request id. One registry per
 * hub: the MCP bridge, in-process code, and any connection of the caller the question
 * was asked of may answer it. Another caller's answer is refused as an unknown id
 * (nothing tells it the id exists): an id that leaked must not let someone else
 * answer, e.g. confirm a deletion, in the caller's name.
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
  ask<T>(
    question: RequestOptions,
    signal: AbortSignal,
    wire: WireForm = 'legacy',
    askedOf?: unknown,
  ): { item: RequestItem; answer: Promise<T> } {
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
        askedOf,
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
   * also throws, so the responder learns it too. `from`: who answers over a
   * connection (undefined: trusted in-process code, which may answer any question).
   */
  respond(requestId: string, responseData: unknown, from?: unknown): void {
    const pending = this.#pending.get(requestId);
    if (!pending || (from !== undefined && pending.askedOf !== undefined && !sameCaller(pending.askedOf, from))) {
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
