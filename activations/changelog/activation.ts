import { activation, method, type CallContext, type DynamicHub } from '../../src/index.js';
import { type Clock, systemClock } from '../storage/clock.js';
import { type DatabaseOption, resolveDatabase, type SqliteDatabase } from '../storage/sqlite.js';
import { type GroupCommit, groupCommit } from '../storage/group-commit.js';
import { changedPaths, hashSnapshot } from './hash-tree.js';
import { ChangelogStorage } from './storage.js';
import type {
  Entries,
  EntryAdded,
  HashChange,
  HashChanges,
  QueueAdded,
  QueueEntries,
  QueueItem,
  QueueUpdated,
  StartupCheck,
  Status,
} from './types.js';

export interface ChangelogOptions {
  /** An open database (shared with other activations), a file, or `:memory:`. Default: `hub.db` in the data dir. */
  readonly database?: DatabaseOption;
  readonly clock?: Clock;
  /** Where the start-up check and recording failures are reported (default: stderr). */
  readonly log?: (line: string) => void;
}

/**
 * Track and document plexus configuration changes.
 *
 * Records every change of the root hash of the hub it is attached to (which paths
 * changed, old and new hash, when), keeps human-written entries per hash and a
 * queue of planned changes. Wire-compatible with the reference server's `changelog`.
 */
@activation('changelog', { version: '1.0.0', description: 'Track and document plexus configuration changes' })
export class Changelog {
  readonly storage: ChangelogStorage;
  readonly #db: SqliteDatabase;
  readonly #ownsDb: boolean;
  /** Writes of one event-loop turn share one transaction, answered after it commits. */
  readonly #batch: GroupCommit;
  readonly #log: (line: string) => void;
  readonly #watchers = new Set<(change: HashChange) => void>();
  #detach?: () => void;
  /** Observations run one at a time, in order. */
  #observing: Promise<void> = Promise.resolve();
  #scheduled = false;

  constructor(options: ChangelogOptions = {}) {
    const { db, owned } = resolveDatabase(options.database);
    this.#db = db;
    this.#ownsDb = owned;
    this.storage = new ChangelogStorage(db, options.clock ?? systemClock);
    this.#batch = groupCommit(db);
    this.#log = options.log ?? ((line) => process.stderr.write(`changelog: ${line}\n`));
  }

  /**
   * Starts recording the hub's root-hash changes: runs the reference's start-up check
   * now (logging an undocumented change), then records each change as the tree
   * changes (register, unregister, anything below). Resolves once the start-up
   * check is recorded; returns a function that stops recording.
   */
  async attach(hub: DynamicHub): Promise<() => void> {
    this.#detach?.();
    const off = hub.onChange(() => this.#schedule(hub));
    this.#detach = off;
    await hub.ready();
    const result = this.storage.startupCheck(hub.hash());
    this.#log(result.message);
    await this.#enqueue(hub, result.previous_hash);
    return () => {
      off();
      if (this.#detach === off) this.#detach = undefined;
    };
  }

  /** Resolves when every change seen so far has been recorded. */
  settled(): Promise<void> {
    return this.#observing;
  }

  /** Stops recording and closes the database if changelog opened it. */
  close(): void {
    this.#detach?.();
    this.#detach = undefined;
    if (this.#ownsDb && this.#db.open) this.#db.close();
  }

  #schedule(hub: DynamicHub): void {
    // Several register() calls in one tick are one change.
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#enqueue(hub, undefined);
    });
  }

  #enqueue(hub: DynamicHub, startupPrevious: string | null | undefined): Promise<void> {
    this.#observing = this.#observing
      .then(() => this.#observe(hub, startupPrevious))
      .catch((err) => this.#log(`recording a hash change failed: ${(err as Error).message}`));
    return this.#observing;
  }

  /**
   * Records the hub's current hash if it differs from the last recorded one. At
   * start-up the check has already stored the current hash, so its previous value
   * is passed in.
   */
  async #observe(hub: DynamicHub, startupPrevious: string | null | undefined): Promise<void> {
    if (!this.#db.open) return;
    await hub.ready();
    const hash = hub.hash();
    const previous = startupPrevious !== undefined ? startupPrevious : this.storage.lastHash();
    if (previous === hash) return;
    const snapshot = await hashSnapshot(hub, hub.namespace);
    if (hub.hash() !== hash) return; // changed again meanwhile: the next observation records it
    const change = await this.#batch.run(() =>
      this.storage.recordChange(previous, hash, changedPaths(this.storage.snapshot(), snapshot), snapshot),
    );
    for (const w of this.#watchers) w(change);
  }

  // ---- the reference's methods ---------------------------------------------------

  /**
   * Add a changelog entry documenting a plexus hash change
   * @param hash - The plexus hash this entry documents
   * @param summary - One-line summary of the change
   * @param previous_hash - The hash before the change
   * @param details - Details, one item per line
   * @param author - Who made the change
   * @param queue_id - The queued change this implements (it is marked completed)
   */
  @method({ verbs: ['write'], description: 'Add a changelog entry documenting a plexus hash change' })
  add(hash: string, summary: string, previous_hash?: string, details?: string[], author?: string, queue_id?: string): Promise<EntryAdded> {
    return this.#batch.run(() => {
      return { type: 'entry_added', entry: this.storage.addEntry({ hash, summary, previous_hash, details, author, queue_id }) };
    });
  }

  /** List all changelog entries (newest first) */
  @method({ description: 'List all changelog entries (newest first)' })
  list(): Entries {
    return { type: 'entries', entries: this.storage.entries() };
  }

  /**
   * Get a changelog entry for a specific plexus hash
   * @param hash - The plexus hash to look up
   */
  @method({ description: 'Get a changelog entry for a specific plexus hash' })
  get(hash: string): Status {
    const entry = this.storage.entry(hash);
    return { type: 'status', current_hash: hash, previous_hash: this.storage.lastHash(), is_documented: entry !== null, entry };
  }

  /**
   * Check if the current plexus configuration is documented
   * @param current_hash - The plexus hash to check
   */
  @method({ description: 'Check if the current plexus configuration is documented' })
  check(current_hash: string): StartupCheck {
    const previous_hash = this.storage.lastHash();
    const hash_changed = previous_hash !== current_hash;
    const is_documented = this.storage.entry(current_hash) !== null;
    const message = !hash_changed
      ? 'Plexus hash unchanged'
      : is_documented
        ? 'Plexus change is documented'
        : `UNDOCUMENTED: Add changelog entry for hash '${current_hash}'`;
    return { type: 'startup_check', current_hash, previous_hash, hash_changed, is_documented, message };
  }

  /**
   * Queue a planned change that systems should implement. Tags identify which systems are affected (e.g., 'frontend', 'api', 'breaking')
   * @param description - What should change
   * @param tags - Affected systems
   */
  @method({
    verbs: ['write'],
    description:
      "Queue a planned change that systems should implement. Tags identify which systems are affected (e.g., 'frontend', 'api', 'breaking')",
  })
  queueAdd(description: string, tags?: string[]): Promise<QueueAdded> {
    return this.#batch.run(() => {
      return { type: 'queue_added', entry: this.storage.queueAdd(description, tags) };
    });
  }

  /**
   * List all queued changes, optionally filtered by tag
   * @param tag - Only entries with this tag
   */
  @method({ description: 'List all queued changes, optionally filtered by tag' })
  queueList(tag?: string): QueueEntries {
    return { type: 'queue_entries', entries: this.storage.queueList(tag) };
  }

  /**
   * List pending queued changes that haven't been completed yet
   * @param tag - Only entries with this tag
   */
  @method({ description: "List pending queued changes that haven't been completed yet" })
  queuePending(tag?: string): QueueEntries {
    return { type: 'queue_entries', entries: this.storage.queueList(tag, 'pending') };
  }

  /**
   * Get a specific queued change by its ID
   * @param id - The queue entry's id
   */
  @method({ description: 'Get a specific queued change by its ID' })
  queueGet(id: string): QueueItem {
    return { type: 'queue_item', entry: this.storage.queueGet(id) };
  }

  /**
   * Mark a queued change as complete, linking it to the hash where it was implemented
   * @param id - The queue entry's id
   * @param hash - The plexus hash that implements it
   */
  @method({ verbs: ['write'], description: 'Mark a queued change as complete, linking it to the hash where it was implemented' })
  queueComplete(id: string, hash: string): Promise<QueueUpdated> {
    return this.#batch.run(() => {
      return { type: 'queue_updated', entry: this.storage.queueComplete(id, hash) };
    });
  }

  // ---- plexus-hub additions ----------------------------------------------------------

  /**
   * The recorded changes of the root hash, newest first
   * @param limit - At most this many (default 100)
   */
  @method()
  changes(limit = 100): HashChanges {
    return { type: 'hash_changes', changes: this.storage.changes(Math.max(0, Math.floor(limit))) };
  }

  /**
   * Stream each change of the root hash as it happens, until cancelled
   * @param since - First replay the recorded changes with an id above this
   */
  @method({ streaming: true })
  async *watch(since?: number, ctx?: CallContext): AsyncGenerator<HashChange> {
    const queue: HashChange[] = [];
    let wake: (() => void) | undefined;
    const push = (change: HashChange) => {
      queue.push(change);
      wake?.();
    };
    this.#watchers.add(push);
    const onAbort = () => wake?.();
    ctx?.signal.addEventListener('abort', onAbort);
    try {
      if (since !== undefined) {
        const missed = this.storage
          .changes(Number.MAX_SAFE_INTEGER)
          .filter((c) => c.id > since)
          .reverse();
        queue.unshift(...missed.filter((c) => !queue.some((q) => q.id === c.id)));
      }
      while (!ctx?.signal.aborted) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.#watchers.delete(push);
      ctx?.signal.removeEventListener('abort', onAbort);
    }
  }
}
