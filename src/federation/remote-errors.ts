import { PlexusError } from '../wire/errors.js';
import type { ErrorItem } from '../wire/items.js';

/** The code of the error item a call gets while a mounted hub cannot be reached. */
export const REMOTE_UNAVAILABLE = 'remote_unavailable';

/**
 * A mounted hub is down: calls in flight when it dropped end with this, and new
 * calls fail with it at once until it is back. Recoverable: retry later. Its `since`
 * (ISO 8601, when the remote became unreachable) goes into the error item.
 */
export class RemoteUnavailableError extends PlexusError {
  constructor(
    message: string,
    readonly since: string,
  ) {
    super(REMOTE_UNAVAILABLE, message, true);
  }

  static of(mount: string, since: string, reason: string): RemoteUnavailableError {
    return new RemoteUnavailableError(`Remote hub '${mount}' is unavailable since ${since}: ${reason}`, since);
  }

  /** A remote's own `remote_unavailable` item (a hub further down is gone), kept as it is. */
  static from(item: ErrorItem): RemoteUnavailableError | undefined {
    return item.code === REMOTE_UNAVAILABLE ? new RemoteUnavailableError(item.message, item.since ?? new Date().toISOString()) : undefined;
  }
}
