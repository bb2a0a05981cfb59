import { PlexusError } from '../../src/index.js';

/** The reference's `ArborError`, tagged by `kind`; the wire code is `arbor.<kind>`. */
export type ArborErrorDetails =
  | { kind: 'tree_not_found'; tree_id: string }
  | { kind: 'node_not_found'; node_id: string; tree_id: string }
  | { kind: 'storage_error'; operation: string; detail: string }
  | { kind: 'invalid_state'; message: string }
  | { kind: 'render_too_large'; message: string }
  | { kind: 'init_error'; detail: string };

/**
 * A domain failure of arbor: an `error` item (or `failed` terminal) with code
 * `arbor.<kind>`, the reference's message, and the tagged fields as its `details`
 * (`{"kind": "tree_not_found", "tree_id": "…"}`), so a program can act on the id.
 */
export class ArborError extends PlexusError {
  declare readonly details: ArborErrorDetails;
  constructor(details: ArborErrorDetails) {
    super(`arbor.${details.kind}`, messageOf(details), false, details);
  }

  static treeNotFound(tree_id: string): ArborError {
    return new ArborError({ kind: 'tree_not_found', tree_id });
  }
  static nodeNotFound(node_id: string, tree_id: string): ArborError {
    return new ArborError({ kind: 'node_not_found', node_id, tree_id });
  }
  static storage(operation: string, detail: string): ArborError {
    return new ArborError({ kind: 'storage_error', operation, detail });
  }
  static invalidState(message: string): ArborError {
    return new ArborError({ kind: 'invalid_state', message });
  }
}

function messageOf(d: ArborErrorDetails): string {
  switch (d.kind) {
    case 'tree_not_found':
      return `Tree not found: ${d.tree_id}`;
    case 'node_not_found':
      return `Node not found: ${d.node_id} in tree ${d.tree_id}`;
    case 'storage_error':
      return `Storage error during ${d.operation}: ${d.detail}`;
    case 'invalid_state':
    case 'render_too_large':
      return d.message;
    case 'init_error':
      return `Initialization error: ${d.detail}`;
  }
}
