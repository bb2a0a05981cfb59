/**
 * What every part of an extension shares: a source's health and the named error
 * codes an extension's calls fail with (agent-gateway model §1). The manifest model,
 * the transports and the activation built from a manifest all speak these.
 */

/** A source's state as discovery and dispatch report it. */
export type HealthStatus = 'ok' | 'degraded' | 'unavailable' | 'unknown';

export interface SourceHealth {
  status: HealthStatus;
  /** What a person can act on: which binary is missing, which host did not answer. */
  detail: string;
}

/** The semantic error codes of an extension call (`PlexusError.code`, with `details`). */
export const ExtensionErrorCode = {
  /** The source (its binary, its host) is unavailable: the call never started. */
  SourceUnavailable: 'source_unavailable',
  /** The transport failed: a non-2xx answer, a timeout, a refused redirect, a size cap. */
  TransportError: 'transport_error',
  /** Params (or a response the capability declares) do not match its schema. */
  SchemaValidationFailed: 'schema_validation_failed',
  /** The caller can see the capability but lacks a grant it needs (verb or member). */
  GrantRequired: 'grant_required',
} as const;
export type ExtensionErrorCode = (typeof ExtensionErrorCode)[keyof typeof ExtensionErrorCode];
