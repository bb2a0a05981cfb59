/**
 * Yielded by a mounted hub's `forward` before the items it relays: the items that
 * follow were produced at these segments below the mount (the remote's own
 * provenance), so their metadata shows the full path. It produces no item itself.
 */
export interface ProvenanceMark {
  readonly __plexus: 'provenance';
  readonly below: readonly string[];
}

export function provenanceBelow(below: readonly string[]): ProvenanceMark {
  return { __plexus: 'provenance', below };
}

/** Yielded by a mounted hub's `forward`: one data item whose content is this JSON text, relayed without re-serialising. */
export interface RawContentMark {
  readonly __plexus: 'raw';
  readonly json: string;
}

export function rawContent(json: string): RawContentMark {
  return { __plexus: 'raw', json };
}
