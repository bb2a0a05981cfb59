import type { Statement } from 'better-sqlite3';
import { type Clock, seconds, systemClock } from '../storage/clock.js';
import { migrate } from '../storage/migrations.js';
import type { SqliteDatabase } from '../storage/sqlite.js';
import { newId } from '../storage/uuid.js';
import { ArborError } from './errors.js';
import { ARBOR_MIGRATIONS } from './migrations.js';
import type { Handle, Node, NodeSkeleton, ResourceRefs, ResourceState, Tree, TreeSkeleton } from './types.js';

/** How long released things wait. Defaults are the reference's `ArborConfig`. */
export interface ArborRetention {
  /** Seconds a tree released to zero refs (or an ephemeral node) waits before the sweep acts: 7 days. */
  readonly scheduledDeletionWindow: number;
  /** Seconds an archived tree is kept (read-only) before the sweep deletes it: 30 days. */
  readonly archiveWindow: number;
}

export const DEFAULT_RETENTION: ArborRetention = { scheduledDeletionWindow: 604_800, archiveWindow: 2_592_000 };

/** What one retention sweep did. */
export interface SweepReport {
  /** Trees scheduled for deletion longer than the window, now archived. */
  readonly archived_trees: string[];
  /** Trees archived longer than the archive window, now deleted with their nodes. */
  readonly purged_trees: string[];
  /** Ephemeral / released nodes past the window that had no children left, now deleted. */
  readonly deleted_nodes: string[];
}

export interface NodeOptions {
  /**
   * Create the node already scheduled for deletion (ref_count 0), as the reference
   * does for ephemeral chat turns; the retention sweep removes it later.
   */
  readonly ephemeral?: boolean;
}

interface TreeRow {
  id: string;
  root_node_id: string;
  ref_count: number;
  state: ResourceState;
  scheduled_deletion_at: number | null;
  archived_at: number | null;
  created_at: number;
  updated_at: number;
  metadata: string | null;
}

interface NodeRow {
  id: string;
  tree_id: string;
  parent_id: string | null;
  ref_count: number;
  state: ResourceState;
  scheduled_deletion_at: number | null;
  archived_at: number | null;
  node_type: 'text' | 'external';
  content: string | null;
  handle_plugin_id: string | null;
  handle_version: string | null;
  handle_method: string | null;
  handle_meta: string | null;
  created_at: number;
  metadata: string | null;
}

interface ChildRow {
  parent_id: string;
  child_id: string;
}

interface OwnerRow {
  id: string;
  owner_id: string;
  count: number;
}

/** `WITH RECURSIVE up(...)`: the node `@node` in tree `@tree` and its ancestors, `depth` 0 at the node. */
const PATH_UP = `WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM nodes WHERE id = @node AND tree_id = @tree
    UNION ALL
    SELECT n.id, n.parent_id, up.depth + 1 FROM nodes n JOIN up ON n.id = up.parent_id
  )`;

/** Metadata is JSON text; text that does not parse is dropped, as the reference does. */
function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const jsonText = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/**
 * Arbor's storage: conversation trees in SQLite, used by the `arbor` activation and,
 * in process, by activations that keep conversations in trees (cone, claudecode).
 * Every public method is one transaction (nested calls join the caller's, so
 * `transaction(() => { …several calls… })` commits them together). Failures throw
 * `ArborError` with the reference's codes.
 */
export class ArborStorage {
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #sql: ReturnType<typeof statements>;

  constructor(db: SqliteDatabase, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
    try {
      migrate(db, 'arbor', ARBOR_MIGRATIONS);
    } catch (err) {
      throw new ArborError({ kind: 'init_error', detail: (err as Error).message });
    }
    this.#sql = statements(db);
  }

  get db(): SqliteDatabase {
    return this.#db;
  }

  /** Runs `fn` in one transaction (a savepoint when already inside one). */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  #now(): number {
    return seconds(this.#clock);
  }

  // ---- trees -------------------------------------------------------------------

  /** A new tree with an empty root text node, one reference held by `ownerId`. */
  treeCreate(metadata: unknown, ownerId: string): string {
    return this.treeCreateWithId(newId(), metadata, ownerId);
  }

  /** As `treeCreate`, with the caller's id (lowercase UUID). */
  treeCreateWithId(treeId: string, metadata: unknown, ownerId: string): string {
    return this.transaction(() => {
      if (this.#sql.treeRow.get(treeId)) throw ArborError.storage('tree_create', `Tree ${treeId} already exists`);
      const now = this.#now();
      const root = newId();
      this.#sql.insertTree.run(treeId, root, now, now, jsonText(metadata));
      this.#sql.insertNode.run(root, treeId, null, 1, 'active', null, 'text', '', null, null, null, null, now, null);
      this.#sql.upsertTreeRef.run({ tree: treeId, owner: ownerId, count: 1, now });
      return treeId;
    });
  }

  #tree(treeId: string): TreeRow {
    const row = this.#sql.treeRow.get(treeId) as TreeRow | undefined;
    if (!row) throw ArborError.treeNotFound(treeId);
    return row;
  }

  /** A tree that can be read and written: exists and is not archived. */
  #liveTree(treeId: string): TreeRow {
    const row = this.#tree(treeId);
    if (row.state === 'archived') throw ArborError.invalidState(`Tree ${treeId} is archived`);
    return row;
  }

  /** The whole tree, nodes in creation order. Archived trees: `treeGetArchived`. */
  treeGet(treeId: string): Tree {
    return this.transaction(() => this.#treeData(this.#liveTree(treeId)));
  }

  /** A tree in any state, archived ones included. */
  treeGetArchived(treeId: string): Tree {
    return this.transaction(() => this.#treeData(this.#tree(treeId)));
  }

  #treeData(row: TreeRow): Tree {
    const rows = this.#sql.treeNodes.all(row.id) as NodeRow[];
    const children = groupChildren(this.#sql.treeChildren.all(row.id) as ChildRow[]);
    const owners = groupOwners(this.#sql.treeNodeRefs.all(row.id) as OwnerRow[]);
    const nodes: Record<string, Node> = {};
    for (const r of rows) nodes[r.id] = toNode(r, children.get(r.id) ?? [], owners.get(r.id) ?? {});
    return {
      id: row.id,
      root: row.root_node_id,
      nodes,
      state: row.state,
      refs: this.#treeRefs(row),
      ...(row.scheduled_deletion_at !== null ? { scheduled_deletion_at: row.scheduled_deletion_at } : {}),
      ...(row.archived_at !== null ? { archived_at: row.archived_at } : {}),
      created_at: row.created_at,
      updated_at: row.updated_at,
      ...withMetadata(row.metadata),
    };
  }

  #treeRefs(row: TreeRow): ResourceRefs {
    const owners: Record<string, number> = {};
    for (const r of this.#sql.treeRefs.all(row.id) as OwnerRow[]) owners[r.owner_id] = r.count;
    return { ref_count: row.ref_count, owners };
  }

  treeGetSkeleton(treeId: string): TreeSkeleton {
    return this.transaction(() => {
      const row = this.#liveTree(treeId);
      const children = groupChildren(this.#sql.treeChildren.all(treeId) as ChildRow[]);
      const nodes: Record<string, NodeSkeleton> = {};
      for (const r of this.#sql.treeSkeleton.all(treeId) as Pick<NodeRow, 'id' | 'parent_id' | 'node_type'>[]) {
        nodes[r.id] = { id: r.id, parent: r.parent_id, children: children.get(r.id) ?? [], node_type: r.node_type };
      }
      return { id: row.id, root: row.root_node_id, nodes, state: row.state };
    });
  }

  /** Ids of trees in one state, oldest first. */
  treeList(state: ResourceState = 'active'): string[] {
    return (this.#sql.treesInState.all(state) as { id: string }[]).map((r) => r.id);
  }

  /** Ids of active trees whose metadata contains `filter` (objects match as subsets, arrays and scalars exactly). */
  treeQueryByMetadata(filter: unknown): string[] {
    const rows = this.#sql.treesWithMetadata.all() as { id: string; metadata: string | null }[];
    return rows.filter((r) => containsJson(parseJson(r.metadata), filter)).map((r) => r.id);
  }

  treeUpdateMetadata(treeId: string, metadata: unknown): void {
    this.transaction(() => {
      this.#liveTree(treeId);
      this.#sql.updateTreeMetadata.run(jsonText(metadata), this.#now(), treeId);
    });
  }

  /** Adds `count` references for `ownerId`; reactivates a tree scheduled for deletion. Returns the tree's total. */
  treeClaim(treeId: string, ownerId: string, count: number): number {
    return this.transaction(() => {
      const row = this.#tree(treeId);
      if (row.state === 'archived') throw ArborError.invalidState(`Cannot claim archived tree ${treeId}`);
      const now = this.#now();
      this.#sql.upsertTreeRef.run({ tree: treeId, owner: ownerId, count, now });
      this.#sql.claimTree.run({ count, now, tree: treeId });
      return row.ref_count + count;
    });
  }

  /**
   * Removes `count` of `ownerId`'s references. At zero references the tree is
   * scheduled for deletion (the sweep archives it after the window). Returns the tree's total.
   */
  treeRelease(treeId: string, ownerId: string, count: number): number {
    return this.transaction(() => {
      const row = this.#tree(treeId);
      const held = (this.#sql.treeRef.get(treeId, ownerId) as { count: number } | undefined)?.count;
      if (held === undefined) throw ArborError.storage('tree_release', `No reference found for owner ${ownerId}`);
      if (count > held) throw ArborError.storage('tree_release', `Cannot release ${count} references, owner only has ${held}`);
      if (held === count) this.#sql.deleteTreeRef.run(treeId, ownerId);
      else this.#sql.releaseTreeRef.run(count, treeId, ownerId);
      const total = Math.max(0, row.ref_count - count);
      const now = this.#now();
      if (total === 0) this.#sql.scheduleTree.run(now, now, treeId);
      else this.#sql.setTreeRefCount.run(total, now, treeId);
      return total;
    });
  }

  // ---- nodes -------------------------------------------------------------------

  nodeCreateText(treeId: string, parent: string | null, content: string, metadata?: unknown, options: NodeOptions = {}): string {
    return this.#createNode(treeId, parent, { type: 'text', content }, metadata, options);
  }

  nodeCreateExternal(treeId: string, parent: string | null, handle: Handle, metadata?: unknown, options: NodeOptions = {}): string {
    return this.#createNode(treeId, parent, { type: 'external', handle }, metadata, options);
  }

  /** The reference's helper for ephemeral chat turns: an external node already scheduled for deletion. */
  nodeCreateExternalEphemeral(treeId: string, parent: string | null, handle: Handle, metadata?: unknown): string {
    return this.nodeCreateExternal(treeId, parent, handle, metadata, { ephemeral: true });
  }

  #createNode(treeId: string, parent: string | null, data: Node['data'], metadata: unknown, options: NodeOptions): string {
    return this.transaction(() => {
      this.#liveTree(treeId);
      if (parent !== null && (this.#sql.nodeTree.get(parent) as { tree_id: string } | undefined)?.tree_id !== treeId) {
        throw ArborError.nodeNotFound(parent, treeId);
      }
      const id = newId();
      const now = this.#now();
      const [refCount, state, scheduledAt] = options.ephemeral ? [0, 'scheduled_delete', now] : [1, 'active', null];
      if (data.type === 'text') {
        this.#sql.insertNode.run(
          id,
          treeId,
          parent,
          refCount,
          state,
          scheduledAt,
          'text',
          data.content,
          null,
          null,
          null,
          null,
          now,
          jsonText(metadata),
        );
      } else {
        const h = data.handle;
        this.#sql.insertNode.run(
          id,
          treeId,
          parent,
          refCount,
          state,
          scheduledAt,
          'external',
          null,
          h.plugin_id,
          h.version,
          h.method,
          JSON.stringify(h.meta ?? []),
          now,
          jsonText(metadata),
        );
      }
      if (parent !== null) this.#sql.appendChild.run({ parent, child: id });
      return id;
    });
  }

  #nodeRow(treeId: string, nodeId: string): NodeRow {
    const row = this.#sql.nodeRow.get(nodeId, treeId) as NodeRow | undefined;
    if (!row) throw ArborError.nodeNotFound(nodeId, treeId);
    return row;
  }

  nodeGet(treeId: string, nodeId: string): Node {
    return this.transaction(() => {
      const row = this.#nodeRow(treeId, nodeId);
      const children = (this.#sql.childIds.all(nodeId) as { child_id: string }[]).map((r) => r.child_id);
      const owners: Record<string, number> = {};
      for (const r of this.#sql.nodeRefs.all(nodeId) as OwnerRow[]) owners[r.owner_id] = r.count;
      return toNode(row, children, owners);
    });
  }

  /** Active children, in creation order (ephemeral ones are left out, as in the reference). */
  nodeGetChildren(treeId: string, nodeId: string): string[] {
    return this.transaction(() => {
      this.#nodeRow(treeId, nodeId);
      return (this.#sql.activeChildIds.all(nodeId) as { id: string }[]).map((r) => r.id);
    });
  }

  nodeGetParent(treeId: string, nodeId: string): string | null {
    return this.#nodeRow(treeId, nodeId).parent_id;
  }

  /** Node ids from the root down to `nodeId`. */
  nodeGetPath(treeId: string, nodeId: string): string[] {
    const ids = (this.#sql.pathIds.all({ node: nodeId, tree: treeId }) as { id: string }[]).map((r) => r.id);
    if (ids.length === 0) throw ArborError.nodeNotFound(nodeId, treeId);
    return ids;
  }

  /** Active nodes of the tree that are nobody's parent, in creation order. */
  contextListLeaves(treeId: string): string[] {
    return this.transaction(() => {
      this.#tree(treeId);
      return (this.#sql.leaves.all(treeId) as { id: string }[]).map((r) => r.id);
    });
  }

  /** The nodes from the root down to `nodeId`: the conversation context of that node. */
  contextGetPath(treeId: string, nodeId: string): Node[] {
    // One statement: the ancestors with their children and owners (a recursive CTE yields them node first).
    const rows = this.#sql.pathNodes.all({ node: nodeId, tree: treeId }) as (NodeRow & {
      children_json: string;
      owners_json: string | null;
    })[];
    if (rows.length === 0) throw ArborError.nodeNotFound(nodeId, treeId);
    const nodes = new Array<Node>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      nodes[rows.length - 1 - i] = toNode(
        r,
        JSON.parse(r.children_json) as string[],
        r.owners_json === null ? {} : (JSON.parse(r.owners_json) as Record<string, number>),
      );
    }
    return nodes;
  }

  /** The handles of the external nodes on the path to `nodeId`, root first. */
  contextGetHandles(treeId: string, nodeId: string): Handle[] {
    return this.contextGetPath(treeId, nodeId).flatMap((n) => (n.data.type === 'external' ? [n.data.handle] : []));
  }

  // ---- retention -----------------------------------------------------------------

  /**
   * Applies the retention rules once, in one transaction: trees scheduled for
   * deletion longer than the window are archived; trees archived longer than the
   * archive window are deleted with their nodes; scheduled nodes past the window
   * are deleted, leaves first, never one that still has a child.
   */
  sweep(retention: ArborRetention = DEFAULT_RETENTION): SweepReport {
    return this.transaction(() => {
      const now = this.#now();
      const ids = (rows: unknown[]) => (rows as { id: string }[]).map((r) => r.id);
      const archived_trees = ids(this.#sql.archiveTrees.all({ now, due: now - retention.scheduledDeletionWindow }));
      const purged_trees = ids(this.#sql.purgeTrees.all(now - retention.archiveWindow));
      const deleted_nodes: string[] = [];
      for (;;) {
        const batch = ids(this.#sql.deleteDueLeaves.all(now - retention.scheduledDeletionWindow));
        if (batch.length === 0) break;
        deleted_nodes.push(...batch);
      }
      return { archived_trees, purged_trees, deleted_nodes };
    });
  }
}

function statements(db: SqliteDatabase) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    treeRow: s('SELECT * FROM trees WHERE id = ?'),
    insertTree: s(
      `INSERT INTO trees (id, root_node_id, ref_count, state, created_at, updated_at, metadata) VALUES (?, ?, 1, 'active', ?, ?, ?)`,
    ),
    treesInState: s('SELECT id FROM trees WHERE state = ? ORDER BY created_at, rowid'),
    treesWithMetadata: s(`SELECT id, metadata FROM trees WHERE state = 'active' AND metadata IS NOT NULL ORDER BY created_at, rowid`),
    updateTreeMetadata: s('UPDATE trees SET metadata = ?, updated_at = ? WHERE id = ?'),
    treeRefs: s('SELECT owner_id, count FROM tree_refs WHERE tree_id = ? ORDER BY owner_id'),
    treeRef: s('SELECT count FROM tree_refs WHERE tree_id = ? AND owner_id = ?'),
    upsertTreeRef: s(`INSERT INTO tree_refs (tree_id, owner_id, count, claimed_at) VALUES (@tree, @owner, @count, @now)
      ON CONFLICT (tree_id, owner_id) DO UPDATE SET count = count + @count, claimed_at = @now`),
    releaseTreeRef: s('UPDATE tree_refs SET count = count - ? WHERE tree_id = ? AND owner_id = ?'),
    deleteTreeRef: s('DELETE FROM tree_refs WHERE tree_id = ? AND owner_id = ?'),
    claimTree: s(
      `UPDATE trees SET ref_count = ref_count + @count, state = 'active', scheduled_deletion_at = NULL, updated_at = @now WHERE id = @tree`,
    ),
    setTreeRefCount: s('UPDATE trees SET ref_count = ?, updated_at = ? WHERE id = ?'),
    scheduleTree: s(`UPDATE trees SET ref_count = 0, state = 'scheduled_delete', scheduled_deletion_at = ?, updated_at = ? WHERE id = ?`),
    treeNodes: s('SELECT * FROM nodes WHERE tree_id = ? ORDER BY rowid'),
    treeSkeleton: s('SELECT id, parent_id, node_type FROM nodes WHERE tree_id = ? ORDER BY rowid'),
    treeChildren: s(`SELECT c.parent_id, c.child_id FROM node_children c JOIN nodes n ON n.id = c.parent_id
      WHERE n.tree_id = ? ORDER BY c.parent_id, c.position`),
    treeNodeRefs: s(`SELECT r.node_id AS id, r.owner_id, r.count FROM node_refs r JOIN nodes n ON n.id = r.node_id
      WHERE n.tree_id = ? ORDER BY r.node_id, r.owner_id`),
    insertNode: s(`INSERT INTO nodes (id, tree_id, parent_id, ref_count, state, scheduled_deletion_at, node_type, content,
      handle_plugin_id, handle_version, handle_method, handle_meta, created_at, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    appendChild: s(`INSERT INTO node_children (parent_id, child_id, position)
      VALUES (@parent, @child, (SELECT COALESCE(MAX(position) + 1, 0) FROM node_children WHERE parent_id = @parent))`),
    nodeTree: s('SELECT tree_id FROM nodes WHERE id = ?'),
    nodeRow: s('SELECT * FROM nodes WHERE id = ? AND tree_id = ?'),
    childIds: s('SELECT child_id FROM node_children WHERE parent_id = ? ORDER BY position'),
    nodeRefs: s('SELECT owner_id, count FROM node_refs WHERE node_id = ? ORDER BY owner_id'),
    activeChildIds: s(`SELECT n.id FROM node_children c JOIN nodes n ON n.id = c.child_id
      WHERE c.parent_id = ? AND n.state = 'active' ORDER BY c.position`),
    pathIds: s(`${PATH_UP} SELECT id FROM up ORDER BY depth DESC`),
    // Rows come out in generation order (SQLite's recursive queue is FIFO): the node first, the root last.
    pathNodes: s(`WITH RECURSIVE up AS (
        SELECT nodes.* FROM nodes WHERE id = @node AND tree_id = @tree
        UNION ALL
        SELECT n.* FROM nodes n JOIN up ON n.id = up.parent_id
      )
      SELECT up.*,
        (SELECT json_group_array(child_id) FROM (SELECT child_id FROM node_children WHERE parent_id = up.id ORDER BY position)) AS children_json,
        (SELECT json_group_object(owner_id, count) FROM (SELECT owner_id, count FROM node_refs WHERE node_id = up.id ORDER BY owner_id)) AS owners_json
      FROM up`),
    leaves: s(`SELECT id FROM nodes n WHERE tree_id = ? AND state = 'active'
      AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent_id = n.id) ORDER BY rowid`),
    archiveTrees: s(`UPDATE trees SET state = 'archived', archived_at = @now, updated_at = @now
      WHERE state = 'scheduled_delete' AND scheduled_deletion_at <= @due RETURNING id`),
    purgeTrees: s(`DELETE FROM trees WHERE state = 'archived' AND archived_at <= ? RETURNING id`),
    deleteDueLeaves: s(`DELETE FROM nodes WHERE state = 'scheduled_delete' AND scheduled_deletion_at <= ?
      AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent_id = nodes.id) RETURNING id`),
  };
}

function groupChildren(rows: readonly ChildRow[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const list = out.get(r.parent_id);
    if (list) list.push(r.child_id);
    else out.set(r.parent_id, [r.child_id]);
  }
  return out;
}

function groupOwners(rows: readonly OwnerRow[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const r of rows) {
    let owners = out.get(r.id);
    if (!owners) out.set(r.id, (owners = {}));
    owners[r.owner_id] = r.count;
  }
  return out;
}

function withMetadata(text: string | null): { metadata?: unknown } {
  const metadata = parseJson(text);
  return metadata === undefined ? {} : { metadata };
}

/** A stored row as the reference's `Node` (field order as it serialises them). */
function toNode(r: NodeRow, children: string[], owners: Record<string, number>): Node {
  const meta = (parseJson(r.handle_meta) as string[] | undefined) ?? [];
  const data: Node['data'] =
    r.node_type === 'external'
      ? {
          type: 'external',
          handle: {
            plugin_id: r.handle_plugin_id!,
            version: r.handle_version!,
            method: r.handle_method!,
            ...(meta.length > 0 ? { meta } : {}),
          },
        }
      : { type: 'text', content: r.content ?? '' };
  return {
    id: r.id,
    parent: r.parent_id,
    children,
    data,
    state: r.state,
    refs: { ref_count: r.ref_count, owners },
    ...(r.scheduled_deletion_at !== null ? { scheduled_deletion_at: r.scheduled_deletion_at } : {}),
    ...(r.archived_at !== null ? { archived_at: r.archived_at } : {}),
    created_at: r.created_at,
    ...withMetadata(r.metadata),
  };
}

/** The reference's metadata filter: objects match when every filter key matches recursively; anything else must be equal. */
function containsJson(value: unknown, filter: unknown): boolean {
  if (filter !== null && typeof filter === 'object' && !Array.isArray(filter)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return Object.entries(filter).every(([k, v]) => containsJson((value as Record<string, unknown>)[k], v));
  }
  return JSON.stringify(value) === JSON.stringify(filter);
}
