import { turnErrorCode, type PlexusError } from '../wire/errors.js';
import type { StopDetail, TurnError, TurnTerminal } from '../wire/items.js';
import type { StopMark } from './stop.js';

/**
 * The contents of the turn form's `<path>.terminal` item (the reference's
 * `{"stop": StopReason, "value": …}`), made from how a call ended.
 */

const COMPLETE = { kind: 'complete' } as const;

/** A call that ended normally: `complete`, or how a `stopAs` mark said it stopped short. */
export function completeTerminal(value: unknown, stop?: StopMark): TurnTerminal {
  return { stop: stop ? { kind: stop.kind, detail: stop.detail } : COMPLETE, value };
}

/** A failed call: the error with its dotted code and details, and the same code and message as the stop's detail. */
export function failedTerminal(err: PlexusError): TurnTerminal {
  const code = turnErrorCode(err.code);
  const error: TurnError = {
    code,
    message: err.message,
    ...(err.recoverable ? { retryable: true } : {}),
    ...(err.details !== undefined ? { details: err.details } : {}),
  };
  return { stop: { kind: 'failed', error, detail: { code, message: err.message } }, value: null };
}

/** A call the server ended (it shuts down): `cancelled`, with why in its detail. */
export function cancelledTerminal(err: PlexusError): TurnTerminal {
  const detail: StopDetail = { code: turnErrorCode(err.code), message: err.message };
  return { stop: { kind: 'cancelled', detail }, value: null };
}
