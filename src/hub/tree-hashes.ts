import type { Activation } from '../activation/types.js';
import { activationHashes, type ActivationHashes } from '../hash/content-hash.js';
import { methodList } from './schemas.js';

/** What `<root>.hashes` returns. */
export interface HashesReport extends ActivationHashes {
  readonly namespace: string;
  readonly children?: readonly { readonly namespace: string; readonly hash: string }[];
}

/**
 * Hashes of a tree, memoised per node. The owner drops it (makes a new one)
 * whenever anything in the tree changes.
 */
export class TreeHashes {
  readonly #memo = new Map<Activation, ActivationHashes>();

  of(node: Activation): ActivationHashes {
    let h = this.#memo.get(node);
    if (!h) h = node.contentHashes?.();
    if (!h) {
      const own = methodList(node).map((m) => m.hash);
      const children = node.children?.();
      h = activationHashes(
        own,
        children?.map((c) => this.of(c).hash),
      );
      this.#memo.set(node, h);
    }
    return h;
  }

  report(node: Activation): HashesReport {
    const children = node.children?.();
    return {
      namespace: node.namespace,
      ...this.of(node),
      ...(children ? { children: children.map((c) => ({ namespace: c.namespace, hash: this.of(c).hash })) } : {}),
    };
  }
}
