import { activation, method, PlexusError } from '../../src/index.js';
import { type Clock, systemClock } from '../storage/clock.js';
import { type GroupCommit, groupCommit } from '../storage/group-commit.js';
import { type DatabaseOption, resolveDatabase, type SqliteDatabase } from '../storage/sqlite.js';
import { uuidParam } from '../storage/uuid.js';
import { planRender, type HandleResolver, type RenderReservation } from './render.js';
import { DEFAULT_MAX_RENDER_BYTES, RenderBudget } from './render-budget.js';
import { ArborStorage, DEFAULT_RETENTION, type ArborRetention, type SweepReport } from './storage.js';
import type {
  ContextHandles,
  ContextLeaves,
  ContextPath,
  ContextPathData,
  Handle,
  NodeChildren,
  NodeCreated,
  NodeData,
  NodeParent,
  TreeClaimed,
  TreeCreated,
  TreeData,
  TreeList,
  TreeReleased,
  TreeRender,
  TreesArchived,
  TreesScheduled,
  TreeSkeletonEvent,
  TreeUpdated,
} from './types.js';

/** arbor's plugin id in handles: UUIDv5(NAMESPACE_OID, "arbor@1"), as the reference computes it. */
export const ARBOR_PLUGIN_ID = '58fd2bc4-b477-509b-9568-c5aee56f1bc0';

export interface ArborOptions {
  /** An open database (shared with other activations), a file, or `:memory:`. Default: `hub.db` in the data dir. */
  readonly database?: DatabaseOption;
  /** Time source for timestamps and the retention sweep (tests move it). */
  readonly clock?: Clock;
  readonly retention?: Partial<ArborRetention>;
  /** Milliseconds between retention sweeps (default one hour, the reference's `cleanup_interval`); 0: no timer. */
  readonly sweepIntervalMs?: number;
  /**
   * Bytes of `tree_render` output all renders in progress may hold together (default
   * 16 MiB). The indentation grows with depth, so a deep tree renders far larger than
   * it is stored; a render past the cap is refused with `arbor.render_too_large`.
   */
  readonly maxRenderBytes?: number;
}

function positiveCount(count: number): number {
  if (!Number.isInteger(count) || count < 1) throw PlexusError.invalidParams(`param 'count' must be a positive integer, got ${count}`);
  return count;
}

/**
 * Manage conversation trees with context tracking.
 *
 * Trees of text and external (handle) nodes in SQLite; every method is one
 * transaction. Wire-compatible with the reference server's `arbor`.
 */
@activation('arbor', { version: '1.0.0', description: 'Manage conversation trees with context tracking' })
export class Arbor {
  /** The storage, for activations that keep conversations in arbor in-process. */
  readonly storage: ArborStorage;
  readonly retention: ArborRetention;
  readonly #resolvers = new Map<string, HandleResolver>();
  readonly #db: SqliteDatabase;
  readonly #ownsDb: boolean;
  /** RPC calls of one event-loop turn share one transaction (see GroupCommit). */
  readonly #batch: GroupCommit;
  readonly #renderBudget: RenderBudget;
  #timer?: NodeJS.Timeout;

  constructor(options: ArborOptions = {}) {
    const { db, owned } = resolveDatabase(options.database);
    this.#db = db;
    this.#ownsDb = owned;
    this.storage = new ArborStorage(db, options.clock ?? systemClock);
    this.#batch = groupCommit(db);
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#renderBudget = new RenderBudget(options.maxRenderBytes ?? DEFAULT_MAX_RENDER_BYTES);
    const interval = options.sweepIntervalMs ?? 3_600_000;
    if (interval > 0) {
      // Once at start too: a hub restarted more often than the interval would otherwise never sweep.
      this.#sweepLogged();
      this.#timer = setInterval(() => this.#sweepLogged(), interval);
      this.#timer.unref();
    }
  }

  /** Applies the retention rules now (the timer calls this). */
  sweep(): SweepReport {
    return this.storage.sweep(this.retention);
  }

  #sweepLogged(): void {
    try {
      this.sweep();
    } catch (err) {
      process.stderr.write(`arbor: retention sweep failed: ${(err as Error).message}\n`);
    }
  }

  /**
   * Lets `tree_render` show the values behind external nodes owned by `pluginId`
   * (cone, claudecode register theirs). Returns an unregister function.
   */
  registerHandleResolver(pluginId: string, resolver: HandleResolver): () => void {
    this.#resolvers.set(pluginId, resolver);
    return () => this.#resolvers.delete(pluginId);
  }

  /** Stops the sweep timer and closes the database if arbor opened it. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#ownsDb && this.#db.open) this.#db.close();
  }

  // ---- trees -------------------------------------------------------------------

  /**
   * Create a new conversation tree
   * @param metadata - Optional tree-level metadata (name, description, etc.)
   * @param owner_id - Owner identifier (default: 'system')
   */
  @method({ verbs: ['write'] })
  treeCreate(owner_id: string, metadata?: unknown): Promise<TreeCreated> {
    return this.#batch.run(() => {
      return { type: 'tree_created', tree_id: this.storage.treeCreate(metadata, owner_id) };
    });
  }

  /**
   * Retrieve a complete tree with all nodes
   * @param tree_id - UUID of the tree to retrieve
   */
  @method()
  treeGet(tree_id: string): Promise<TreeData> {
    return this.#batch.run(() => {
      return { type: 'tree_data', tree: this.storage.treeGet(uuidParam('tree_id', tree_id)) };
    });
  }

  /**
   * Get lightweight tree structure without node data
   * @param tree_id - UUID of the tree
   */
  @method()
  treeGetSkeleton(tree_id: string): Promise<TreeSkeletonEvent> {
    return this.#batch.run(() => {
      return { type: 'tree_skeleton', skeleton: this.storage.treeGetSkeleton(uuidParam('tree_id', tree_id)) };
    });
  }

  /** List all active trees */
  @method()
  treeList(): Promise<TreeList> {
    return this.#batch.run(() => {
      return { type: 'tree_list', tree_ids: this.storage.treeList('active') };
    });
  }

  /**
   * Update tree metadata
   * @param tree_id - UUID of the tree
   * @param metadata - New metadata to set
   */
  @method({ verbs: ['write'] })
  treeUpdateMetadata(tree_id: string, metadata: unknown): Promise<TreeUpdated> {
    return this.#batch.run(() => {
      const id = uuidParam('tree_id', tree_id);
      this.storage.treeUpdateMetadata(id, metadata);
      return { type: 'tree_updated', tree_id: id };
    });
  }

  /**
   * Claim ownership of a tree (increment reference count)
   * @param tree_id - UUID of the tree
   * @param owner_id - Owner identifier
   * @param count - Number of references to add (default: 1)
   */
  @method({ verbs: ['write'] })
  treeClaim(tree_id: string, owner_id: string, count: number): Promise<TreeClaimed> {
    return this.#batch.run(() => {
      const id = uuidParam('tree_id', tree_id);
      const new_count = this.storage.treeClaim(id, owner_id, positiveCount(count));
      return { type: 'tree_claimed', tree_id: id, owner_id, new_count };
    });
  }

  /**
   * Release ownership of a tree (decrement reference count)
   * @param tree_id - UUID of the tree
   * @param owner_id - Owner identifier
   * @param count - Number of references to remove (default: 1)
   */
  @method({ verbs: ['write'] })
  treeRelease(tree_id: string, owner_id: string, count: number): Promise<TreeReleased> {
    return this.#batch.run(() => {
      const id = uuidParam('tree_id', tree_id);
      const new_count = this.storage.treeRelease(id, owner_id, positiveCount(count));
      return { type: 'tree_released', tree_id: id, owner_id, new_count };
    });
  }

  /** List trees scheduled for deletion */
  @method()
  treeListScheduled(): Promise<TreesScheduled> {
    return this.#batch.run(() => {
      return { type: 'trees_scheduled', tree_ids: this.storage.treeList('scheduled_delete') };
    });
  }

  /** List archived trees */
  @method()
  treeListArchived(): Promise<TreesArchived> {
    return this.#batch.run(() => {
      return { type: 'trees_archived', tree_ids: this.storage.treeList('archived') };
    });
  }

  /**
   * Render tree as text visualization
   * @param tree_id - UUID of the tree
   */
  @method()
  async treeRender(tree_id: string): Promise<TreeRender> {
    const id = uuidParam('tree_id', tree_id);
    const tree = await this.#batch.run(() => this.storage.treeGet(id));
    // The size is counted (and reserved) before the text is built; see RenderBudget.
    const reservation: RenderReservation = { budget: this.#renderBudget, held: 0 };
    try {
      const plan = await planRender(tree, this.#resolvers, reservation);
      return { type: 'tree_render', tree_id: id, render: plan.build() };
    } finally {
      this.#renderBudget.release(reservation.held);
    }
  }

  // ---- nodes -------------------------------------------------------------------

  /**
   * Create a text node in a tree
   * @param tree_id - UUID of the tree
   * @param parent - Parent node ID (None for root-level)
   * @param content - Text content for the node
   * @param metadata - Optional node metadata
   */
  @method({ verbs: ['write'] })
  nodeCreateText(tree_id: string, content: string, parent?: string | null, metadata?: unknown): Promise<NodeCreated> {
    return this.#batch.run(() => {
      const id = uuidParam('tree_id', tree_id);
      const parentId = parent == null ? null : uuidParam('parent', parent);
      const node_id = this.storage.nodeCreateText(id, parentId, content, metadata);
      return { type: 'node_created', tree_id: id, node_id, parent: parentId };
    });
  }

  /**
   * Create an external node in a tree
   * @param tree_id - UUID of the tree
   * @param parent - Parent node ID (None for root-level)
   * @param handle - Handle to external data
   * @param metadata - Optional node metadata
   */
  @method({ verbs: ['write'] })
  nodeCreateExternal(tree_id: string, handle: Handle, parent?: string | null, metadata?: unknown): Promise<NodeCreated> {
    return this.#batch.run(() => {
      const id = uuidParam('tree_id', tree_id);
      const parentId = parent == null ? null : uuidParam('parent', parent);
      const node_id = this.storage.nodeCreateExternal(
        id,
        parentId,
        { ...handle, plugin_id: uuidParam('handle.plugin_id', handle.plugin_id) },
        metadata,
      );
      return { type: 'node_created', tree_id: id, node_id, parent: parentId };
    });
  }

  /**
   * Get a node by ID
   * @param tree_id - UUID of the tree
   * @param node_id - UUID of the node
   */
  @method()
  nodeGet(tree_id: string, node_id: string): Promise<NodeData> {
    return this.#batch.run(() => {
      const id = uuidParam('tree_id', tree_id);
      return { type: 'node_data', tree_id: id, node: this.storage.nodeGet(id, uuidParam('node_id', node_id)) };
    });
  }

  /**
   * Get the children of a node
   * @param tree_id - UUID of the tree
   * @param node_id - UUID of the node
   */
  @method()
  nodeGetChildren(tree_id: string, node_id: string): Promise<NodeChildren> {
    return this.#batch.run(() => {
      const [t, n] = [uuidParam('tree_id', tree_id), uuidParam('node_id', node_id)];
      return { type: 'node_children', tree_id: t, node_id: n, children: this.storage.nodeGetChildren(t, n) };
    });
  }

  /**
   * Get the parent of a node
   * @param tree_id - UUID of the tree
   * @param node_id - UUID of the node
   */
  @method()
  nodeGetParent(tree_id: string, node_id: string): Promise<NodeParent> {
    return this.#batch.run(() => {
      const [t, n] = [uuidParam('tree_id', tree_id), uuidParam('node_id', node_id)];
      return { type: 'node_parent', tree_id: t, node_id: n, parent: this.storage.nodeGetParent(t, n) };
    });
  }

  /**
   * Get the path from root to a node
   * @param tree_id - UUID of the tree
   * @param node_id - UUID of the node
   */
  @method()
  nodeGetPath(tree_id: string, node_id: string): Promise<ContextPath> {
    return this.#batch.run(() => {
      const [t, n] = [uuidParam('tree_id', tree_id), uuidParam('node_id', node_id)];
      return { type: 'context_path', tree_id: t, path: this.storage.nodeGetPath(t, n) };
    });
  }

  /**
   * List all leaf nodes in a tree
   * @param tree_id - UUID of the tree
   */
  @method()
  contextListLeaves(tree_id: string): Promise<ContextLeaves> {
    return this.#batch.run(() => {
      const t = uuidParam('tree_id', tree_id);
      return { type: 'context_leaves', tree_id: t, leaves: this.storage.contextListLeaves(t) };
    });
  }

  /**
   * Get the full path data from root to a node
   * @param tree_id - UUID of the tree
   * @param node_id - UUID of the target node
   */
  @method()
  contextGetPath(tree_id: string, node_id: string): Promise<ContextPathData> {
    return this.#batch.run(() => {
      const [t, n] = [uuidParam('tree_id', tree_id), uuidParam('node_id', node_id)];
      return { type: 'context_path_data', tree_id: t, nodes: this.storage.contextGetPath(t, n) };
    });
  }

  /**
   * Get all external handles in the path to a node
   * @param tree_id - UUID of the tree
   * @param node_id - UUID of the target node
   */
  @method()
  contextGetHandles(tree_id: string, node_id: string): Promise<ContextHandles> {
    return this.#batch.run(() => {
      const [t, n] = [uuidParam('tree_id', tree_id), uuidParam('node_id', node_id)];
      return { type: 'context_handles', tree_id: t, handles: this.storage.contextGetHandles(t, n) };
    });
  }
}
