/**
 * Arbor's wire types, field for field as the reference (`arbor/types.rs`) serialises
 * them: snake_case, optional fields omitted when empty, ids as lowercase UUID strings.
 */

/** A reference to a value owned by another activation (e.g. a cone message). */
export interface Handle {
  /** UUID of the owning activation (UUIDv5 of `<namespace>@<major>`). */
  plugin_id: string;
  version: string;
  method: string;
  /** Extra segments, e.g. `["msg-<uuid>", "user", "user"]`; omitted when empty. */
  meta?: string[];
}

export type NodeType = { type: 'text'; content: string } | { type: 'external'; handle: Handle };

export type ResourceState = 'active' | 'scheduled_delete' | 'archived';

export interface ResourceRefs {
  ref_count: number;
  /** Reference count per owner id. */
  owners: { [owner_id: string]: number };
}

export interface Node {
  id: string;
  parent: string | null;
  /** Child ids in creation order. */
  children: string[];
  data: NodeType;
  state?: ResourceState;
  refs?: ResourceRefs;
  scheduled_deletion_at?: number;
  archived_at?: number;
  /** Unix seconds. */
  created_at: number;
  metadata?: unknown;
}

export interface Tree {
  id: string;
  /** The root node: an empty text node made with the tree. */
  root: string;
  nodes: { [node_id: string]: Node };
  state?: ResourceState;
  refs?: ResourceRefs;
  scheduled_deletion_at?: number;
  archived_at?: number;
  created_at: number;
  updated_at: number;
  metadata?: unknown;
}

export interface NodeSkeleton {
  id: string;
  parent: string | null;
  children: string[];
  node_type: 'text' | 'external';
}

export interface TreeSkeleton {
  id: string;
  root: string;
  nodes: { [node_id: string]: NodeSkeleton };
  state?: ResourceState;
}

// ---- ArborEvent variants (tag `type`), one per method result ----------------------

export interface TreeCreated {
  type: 'tree_created';
  tree_id: string;
}
export interface TreeUpdated {
  type: 'tree_updated';
  tree_id: string;
}
export interface TreeList {
  type: 'tree_list';
  tree_ids: string[];
}
export interface TreeClaimed {
  type: 'tree_claimed';
  tree_id: string;
  owner_id: string;
  new_count: number;
}
export interface TreeReleased {
  type: 'tree_released';
  tree_id: string;
  owner_id: string;
  new_count: number;
}
export interface TreesScheduled {
  type: 'trees_scheduled';
  tree_ids: string[];
}
export interface TreesArchived {
  type: 'trees_archived';
  tree_ids: string[];
}
export interface TreeData {
  type: 'tree_data';
  tree: Tree;
}
export interface TreeSkeletonEvent {
  type: 'tree_skeleton';
  skeleton: TreeSkeleton;
}
export interface TreeRender {
  type: 'tree_render';
  tree_id: string;
  render: string;
}
export interface NodeCreated {
  type: 'node_created';
  tree_id: string;
  node_id: string;
  parent: string | null;
}
export interface NodeData {
  type: 'node_data';
  tree_id: string;
  node: Node;
}
export interface NodeChildren {
  type: 'node_children';
  tree_id: string;
  node_id: string;
  children: string[];
}
export interface NodeParent {
  type: 'node_parent';
  tree_id: string;
  node_id: string;
  parent: string | null;
}
export interface NodeClaimed {
  type: 'node_claimed';
  tree_id: string;
  node_id: string;
  owner_id: string;
  new_count: number;
}
export interface NodeReleased {
  type: 'node_released';
  tree_id: string;
  node_id: string;
  owner_id: string;
  new_count: number;
}
export interface ContextPath {
  type: 'context_path';
  tree_id: string;
  path: string[];
}
export interface ContextPathData {
  type: 'context_path_data';
  tree_id: string;
  nodes: Node[];
}
export interface ContextHandles {
  type: 'context_handles';
  tree_id: string;
  handles: Handle[];
}
export interface ContextLeaves {
  type: 'context_leaves';
  tree_id: string;
  leaves: string[];
}

/** `Handle` display form: `{plugin_id}@{version}::{method}:{meta0}:{meta1}…` (as in the reference). */
export function handleDisplay(h: Handle): string {
  const meta = h.meta && h.meta.length > 0 ? `:${h.meta.join(':')}` : '';
  return `${h.plugin_id}@${h.version}::${h.method}${meta}`;
}
