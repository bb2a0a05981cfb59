/** changelog's wire types, as the reference (`changelog/types.rs`) serialises them. */

export interface ChangelogEntry {
  /** The plexus (root) hash this entry documents. */
  hash: string;
  previous_hash?: string;
  /** Unix seconds. */
  created_at: number;
  summary: string;
  /** Omitted when empty. */
  details?: string[];
  author?: string;
  /** The queued change this hash implemented. */
  queue_id?: string;
}

export type QueueStatus = 'pending' | 'completed';

export interface QueueEntry {
  id: string;
  description: string;
  /** Systems affected, e.g. `frontend`, `api`, `breaking`; omitted when empty. */
  tags?: string[];
  created_at: number;
  status: QueueStatus;
  completed_hash?: string;
  completed_at?: number;
}

/** One observed change of the root hash (plexus-hub addition; the reference only logged it). */
export interface HashChange {
  /** 1-based, in the order changes happened. */
  id: number;
  /** The root hash before, or null for the first one ever recorded. */
  previous_hash: string | null;
  hash: string;
  /**
   * Dot paths whose hash changed: activations and methods added, removed or changed
   * (below an added or removed activation only the activation itself).
   */
  paths: string[];
  /** Unix seconds. */
  created_at: number;
  /** Whether a changelog entry documents `hash` (now: `add` can document it later). */
  is_documented: boolean;
}

// ---- ChangelogEvent variants (tag `type`) ----------------------------------------

export interface EntryAdded {
  type: 'entry_added';
  entry: ChangelogEntry;
}
export interface Entries {
  type: 'entries';
  entries: ChangelogEntry[];
}
export interface Status {
  type: 'status';
  current_hash: string;
  /** The last hash this hub recorded. */
  previous_hash: string | null;
  is_documented: boolean;
  entry: ChangelogEntry | null;
}
export interface StartupCheck {
  type: 'startup_check';
  current_hash: string;
  previous_hash: string | null;
  hash_changed: boolean;
  is_documented: boolean;
  message: string;
}
export interface QueueAdded {
  type: 'queue_added';
  entry: QueueEntry;
}
export interface QueueEntries {
  type: 'queue_entries';
  entries: QueueEntry[];
}
export interface QueueItem {
  type: 'queue_item';
  entry: QueueEntry | null;
}
export interface QueueUpdated {
  type: 'queue_updated';
  entry: QueueEntry;
}
export interface HashChanges {
  type: 'hash_changes';
  changes: HashChange[];
}
