/**
 * What a mount is willing to spend on learning a remote's tree. A remote hub is a
 * client of ours too: it must not be able to keep this hub from starting (by never
 * answering), nor make it hold an unbounded tree (an endless, deep or huge one).
 * Past any of these the attach is refused with a `MountLimitError` (logged by the
 * caller), the connection is closed, and the dialer tries again with backoff.
 */
export interface MountLimits {
  /**
   * How long attaching may take: `_info`, the root hash and the whole tree (default
   * 10,000 ms). Also the longest a hub's `ready()` waits for a dialled mount's first
   * attempt, so a hub serves its local tree whatever its mounts do.
   */
  readonly attachTimeoutMs?: number;
  /** Levels of activations below the mount (default 16). */
  readonly maxDepth?: number;
  /** Activations in the remote's tree, the root included (default 10,000). */
  readonly maxNodes?: number;
  /** Bytes of schema frames read for one tree (default 4 MiB). */
  readonly maxSchemaBytes?: number;
}

export const DEFAULT_ATTACH_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_TREE_DEPTH = 16;
export const DEFAULT_MAX_TREE_NODES = 10_000;
export const DEFAULT_MAX_SCHEMA_BYTES = 4 * 1024 * 1024;

/** Schema fetches in flight at once while a tree is read: well under a remote's per-connection stream limit. */
export const TREE_FETCH_CONCURRENCY = 16;

/** A remote went past one of the mount's limits; the message says which and by how much. */
export class MountLimitError extends Error {
  override readonly name = 'MountLimitError';
}

/** Checks that a value given for a limit is a positive integer (0 would mean "nothing fits"). */
function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, not ${v}`);
  return v;
}

/** The limits with their defaults filled in and checked. */
export function resolveMountLimits(limits: MountLimits = {}): Required<MountLimits> {
  return {
    attachTimeoutMs: positive('attachTimeoutMs', limits.attachTimeoutMs, DEFAULT_ATTACH_TIMEOUT_MS),
    maxDepth: positive('maxDepth', limits.maxDepth, DEFAULT_MAX_TREE_DEPTH),
    maxNodes: positive('maxNodes', limits.maxNodes, DEFAULT_MAX_TREE_NODES),
    maxSchemaBytes: positive('maxSchemaBytes', limits.maxSchemaBytes, DEFAULT_MAX_SCHEMA_BYTES),
  };
}

/**
 * What one tree read may still spend: activations and schema bytes. Charged before
 * a level's children are fetched (so 50,000 listed children cost one schema, not
 * 50,000 requests) and as each schema frame arrives.
 */
export class TreeBudget {
  #nodes = 0;
  #bytes = 0;

  constructor(readonly limits: Required<MountLimits>) {}

  /** `count` more activations are about to be read (or reused) at `depth` levels below the mount. */
  nodes(count: number, depth: number): void {
    if (depth > this.limits.maxDepth)
      throw new MountLimitError(`the remote's tree is more than ${this.limits.maxDepth} levels deep (the mount's depth limit)`);
    this.#nodes += count;
    if (this.#nodes > this.limits.maxNodes)
      throw new MountLimitError(
        `the remote's tree has more than ${this.limits.maxNodes} activations (the mount's node limit; ${this.#nodes} listed so far)`,
      );
  }

  /** A schema frame of `size` bytes arrived. */
  bytes(size: number): void {
    this.#bytes += size;
    if (this.#bytes > this.limits.maxSchemaBytes)
      throw new MountLimitError(
        `the remote's schemas are more than ${this.limits.maxSchemaBytes} bytes (the mount's schema-byte limit; ${this.#bytes} read so far)`,
      );
  }
}
