import { RAW_CONTENT, type DataItem, type DoneItem, type ErrorItem, type ProgressItem, type StreamMetadata } from '../wire/items.js';
import type { PlexusError } from '../wire/errors.js';

const UNREAD = Symbol('unread');
/** Factories below a mount remembered per factory (one per remote provenance path). */
const BELOW_CACHE_LIMIT = 64;

/**
 * Builds the items of one call. The metadata object is shared by consecutive
 * items while the second and the root hash stay the same, so a 10,000-item
 * stream allocates a handful of metadata objects, not 10,000.
 */
export class ItemFactory {
  #metadata?: StreamMetadata;
  #below?: Map<string, ItemFactory>;

  constructor(
    readonly provenance: readonly string[],
    /** `content_type` of data items: the method's full dot path. */
    readonly contentType: string,
    private readonly rootHash: () => string,
  ) {}

  metadata(): StreamMetadata {
    const timestamp = Math.floor(Date.now() / 1000);
    const plexus_hash = this.rootHash();
    const m = this.#metadata;
    if (m && m.timestamp === timestamp && m.plexus_hash === plexus_hash) return m;
    return (this.#metadata = { provenance: this.provenance, plexus_hash, timestamp });
  }

  data<T>(content: T): DataItem<T> {
    return { type: 'data', metadata: this.metadata(), content_type: this.contentType, content };
  }

  /** A data item whose content is JSON text from a mounted hub: written out as-is, parsed only when read. */
  rawData(json: string): DataItem {
    let parsed: unknown = UNREAD;
    return {
      type: 'data',
      metadata: this.metadata(),
      content_type: this.contentType,
      get content(): unknown {
        return parsed === UNREAD ? (parsed = JSON.parse(json)) : parsed;
      },
      [RAW_CONTENT]: json,
    } as DataItem;
  }

  progress(message: string, percentage?: number): ProgressItem {
    return percentage === undefined
      ? { type: 'progress', metadata: this.metadata(), message }
      : { type: 'progress', metadata: this.metadata(), message, percentage };
  }

  error(err: PlexusError): ErrorItem {
    const item: ErrorItem = {
      type: 'error',
      metadata: this.metadata(),
      message: err.message,
      code: String(err.code),
      recoverable: err.recoverable,
    };
    // A mounted hub's `remote_unavailable` says since when (federation/remote-errors.ts).
    const since = (err as { since?: unknown }).since;
    const withSince = typeof since === 'string' ? { ...item, since } : item;
    return err.details === undefined ? withSince : { ...withSince, details: err.details };
  }

  /** The same route's items under another `content_type` (the turn form's `<path>.update`, `<path>.terminal`). */
  as(contentType: string): ItemFactory {
    return new ItemFactory(this.provenance, contentType, this.rootHash);
  }

  /**
   * The factory for items produced further down than this route's node: a mounted
   * hub reports where in its own tree the producer is, and provenance becomes the
   * full path (`['inventory', 'stock']`).
   */
  below(segments: readonly string[]): ItemFactory {
    if (segments.length === 0) return this;
    // Remembered per path, so relayed calls share one factory and its metadata object
    // (whose JSON is then made once a second, not per call); bounded against invented paths.
    const key = segments.join('\0');
    let factory = this.#below?.get(key);
    if (!factory) {
      factory = new ItemFactory([...this.provenance, ...segments], this.contentType, this.rootHash);
      this.#below ??= new Map();
      if (this.#below.size < BELOW_CACHE_LIMIT) this.#below.set(key, factory);
    }
    return factory;
  }

  /**
   * The `done` item; with `extra` (what a call observer adds, e.g. `audit_id`) in its
   * own metadata object, `{...metadata, ...extra}` as a literal and an assign, which
   * costs a small fraction of two spreads.
   */
  done(extra?: Readonly<Record<string, unknown>>): DoneItem {
    const m = this.metadata();
    if (!extra) return { type: 'done', metadata: m };
    return {
      type: 'done',
      metadata: Object.assign({ provenance: m.provenance, plexus_hash: m.plexus_hash, timestamp: m.timestamp }, extra),
    };
  }
}
