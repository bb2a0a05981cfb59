import { PlexusError } from '../../../src/index.js';
import { ExtensionErrorCode } from '../types.js';

/** The transport failed after the call started (a non-2xx, an exit code, a cap, a refusal). */
export function transportError(message: string, details?: Record<string, unknown>, recoverable = false): PlexusError {
  return new PlexusError(ExtensionErrorCode.TransportError, message, recoverable, details);
}

/** What the source needs (a binary, a host, a secret) is missing: the call never started. */
export function sourceUnavailable(message: string, details?: Record<string, unknown>): PlexusError {
  return new PlexusError(ExtensionErrorCode.SourceUnavailable, message, true, details);
}

/** A route that fails its own checks at dispatch (the install validated it, so this is a bug or an edited store). */
export function invalidRoute(kind: string, reasons: readonly string[]): PlexusError {
  return transportError(`the ${kind} route is invalid: ${reasons.join('; ')}`, { reasons: [...reasons] });
}

/** A plain object (a JSON object), not an array or null. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A positive integer no greater than `max`, or a reason it is not. */
export function checkLimit(field: string, value: unknown, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max) return undefined;
  return `route.${field} must be an integer from 1 to ${max}`;
}
