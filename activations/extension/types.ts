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

/** What the hub hands a transport besides the route and the params. */
export interface TransportOptions {
  /** The hub's secret store (by name; a value never leaves the transport). */
  secrets: { get(name: string): string | undefined };
  /** The hosts the install approved beyond loopback (`allowedHosts`). */
  approvedHosts: readonly string[];
  /** Name resolution, injectable so tests can make a name resolve (or rebind) anywhere. */
  resolver?: (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;
  /** `hub serve`'s process settings (as for bash). */
  processes?: { containment?: string; maxProcesses?: number };
}

/** What each transport module (`transports/<kind>.ts`) exports. */
export interface ExtensionTransport {
  /** Problems with a route, as a person can act on them; empty when valid. */
  checkRoute(route: unknown, manifest: { secrets?: readonly { name: string }[] }): { reasons: string[] };
  /** What installing this route lets the hub do: the binaries it may spawn, the non-loopback hosts it may reach. */
  approvalSurface(route: unknown): { bins?: string[]; hosts?: string[]; dirs?: string[] };
  health(route: unknown, opts: TransportOptions): Promise<SourceHealth>;
  dispatch(route: unknown, params: Record<string, unknown>, opts: TransportOptions & { signal: AbortSignal }): AsyncIterable<unknown>;
}
