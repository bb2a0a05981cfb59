import { PlexusError } from '../../src/index.js';

/** The reference's `ChangelogError` codes: `changelog.storage_error`, `changelog.queue_entry_not_found`. */
export class ChangelogError extends PlexusError {
  static queueEntryNotFound(id: string): ChangelogError {
    return new ChangelogError('changelog.queue_entry_not_found', `Queue entry not found: ${id}`, false, { id });
  }
  static storage(message: string): ChangelogError {
    return new ChangelogError('changelog.storage_error', `Storage error: ${message}`);
  }
}
