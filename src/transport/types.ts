/**
 * The seam between the protocol (RpcSession) and a byte transport (WebSocket,
 * stdio, or one you add): where a session writes, its limits, and the shutdown
 * options every server takes.
 *
 * Words: "drain" means one thing here, as in Node streams: the peer caught up and
 * a congested sink can take more (`MessageSink.drained()`). Shutting down is
 * `RpcSession.shutdown()`, then `close()`.
 */

import type { ConnectionBytes } from './byte-budget.js';
import type { StreamBudget } from './stream-budget.js';
import type { WireForm } from '../wire/items.js';

/** Where a session writes, with the peer's backpressure. */
export interface MessageSink {
  send(message: string): void;
  /** True while the peer is not keeping up; producers then wait for `drained()`. */
  congested(): boolean;
  /** Resolves when the sink is no longer congested (at once when it is not). */
  drained(): Promise<void>;
}

export interface SessionLimits {
  /** Concurrent subscriptions per connection (default 1024). */
  readonly maxStreams?: number;
  /** Open streams shared by every connection of a server (default: one budget of 100,000 per session). */
  readonly streamBudget?: StreamBudget;
  /**
   * This connection's byte account (params its streams hold, its queued output, its
   * partial frames), charged through to the process's `ByteBudget`. Default: an account
   * of its own with the default limits.
   */
  readonly bytes?: ConnectionBytes;
  /**
   * The wire form the connection reads (docs/protocol.md "Wire forms"): `legacy`
   * (default) or `turns`, the newest reference's updates-then-terminal projection.
   * A WebSocket client may choose per connection with `?wire=` on its URL.
   */
  readonly wire?: WireForm;
}

export const DEFAULT_MAX_STREAMS = 1024;

/** Largest accepted message of the built-in transports, in bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** How long running streams may take to finish at shutdown before they are cancelled. */
export const DEFAULT_GRACE_MS = 2000;

export interface CloseOptions {
  /** How long running streams may take to finish before they are cancelled (default 2000 ms). */
  readonly graceMs?: number;
  readonly reason?: string;
}
