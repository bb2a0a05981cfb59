import type { ChildSummary, MethodSchema, PluginSchema } from './wire.js';

/** Where schemas come from: a live client, or (in tests) an in-process hub. */
export interface SchemaSource {
  /** `undefined` asks for the root. */
  schema(path?: string): Promise<PluginSchema>;
  hash(): Promise<string>;
}

export interface TreeNode {
  /** Dot path; the root's is the root name (`plexus`), its children's start below it (`solar.earth`). */
  readonly path: string;
  readonly namespace: string;
  /** What the parent's schema says about this node (description and hash), before it is loaded. */
  summary?: ChildSummary;
  schema?: PluginSchema;
  loading?: Promise<PluginSchema>;
  error?: string;
  /** Re-fetched (or added) because the root hash changed while the page was open. */
  changed?: boolean;
}

export interface Drift {
  readonly from: string;
  readonly to: string;
  /** Paths of nodes that changed, appeared or disappeared. */
  readonly changed: readonly string[];
}

export interface SearchResult {
  /** Nodes to show: the matches and their ancestors. */
  readonly visible: ReadonlySet<string>;
  /** Method paths that match. */
  readonly methods: ReadonlySet<string>;
  readonly matches: number;
}

/**
 * The hub's schema tree as the page knows it: loaded lazily, one `<path>.schema`
 * per expanded node, as the protocol intends. Nothing here assumes a depth or
 * that a node is local: a mounted remote hub's paths are just longer paths.
 */
export class SchemaTree {
  readonly nodes = new Map<string, TreeNode>();
  rootHash?: string;
  drift?: Drift;
  /** Bumped on every change, so a view can tell it must re-render. */
  version = 0;
  readonly #listeners = new Set<() => void>();

  constructor(
    readonly source: SchemaSource,
    readonly root: string,
  ) {
    this.nodes.set(root, { path: root, namespace: root });
  }

  /** Takes a root schema fetched elsewhere (the connection reads it first). */
  seedRoot(schema: PluginSchema): void {
    const node = this.nodes.get(this.root)!;
    node.schema = schema;
    this.rootHash = schema.hash;
    this.children(this.root);
    this.#emit();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(): void {
    this.version++;
    for (const l of this.#listeners) l();
  }

  childPath(parent: string, namespace: string): string {
    return parent === this.root ? namespace : `${parent}.${namespace}`;
  }

  /** The callable path of a method of a node: `echo.echo`, or `plexus.hash` for the root's own. */
  methodPath(node: string, method: string): string {
    return `${node}.${method}`;
  }

  /** Splits a method path into its node and method name. */
  splitMethod(path: string): { node: string; method: string } | undefined {
    const dot = path.lastIndexOf('.');
    if (dot <= 0) return undefined;
    return { node: path.slice(0, dot), method: path.slice(dot + 1) };
  }

  /** The node's loaded children, in the schema's order (sorted by namespace). */
  children(path: string): TreeNode[] {
    const schema = this.nodes.get(path)?.schema;
    return (schema?.children ?? []).map((summary) => {
      const childPath = this.childPath(path, summary.namespace);
      let node = this.nodes.get(childPath);
      if (!node) this.nodes.set(childPath, (node = { path: childPath, namespace: summary.namespace }));
      node.summary = summary;
      return node;
    });
  }

  method(path: string): MethodSchema | undefined {
    const split = this.splitMethod(path);
    if (!split) return undefined;
    return this.nodes.get(split.node)?.schema?.methods.find((m) => m.name === split.method);
  }

  /** Fetches a node's schema once (concurrent callers share the request). */
  load(path: string): Promise<PluginSchema> {
    let node = this.nodes.get(path);
    if (!node) this.nodes.set(path, (node = { path, namespace: path.slice(path.lastIndexOf('.') + 1) }));
    if (node.schema) return Promise.resolve(node.schema);
    if (node.loading) return node.loading;
    const target = node;
    target.error = undefined;
    target.loading = this.source.schema(path === this.root ? undefined : path).then(
      (schema) => {
        target.schema = schema;
        target.loading = undefined;
        if (path === this.root) this.rootHash ??= schema.hash;
        this.children(path); // create the child nodes with their summaries
        this.#emit();
        return schema;
      },
      (err: unknown) => {
        target.loading = undefined;
        target.error = (err as Error).message;
        this.#emit();
        throw err;
      },
    );
    this.#emit();
    return target.loading;
  }

  /** Loads every ancestor of a path, top down (for deep links). */
  async loadPath(path: string): Promise<void> {
    await this.load(this.root);
    if (path === this.root) return;
    const segments = path.split('.');
    for (let i = 1; i <= segments.length; i++) await this.load(segments.slice(0, i).join('.'));
  }

  /** Walks the rest of the tree breadth first (for search), a few requests at a time, up to `limit` nodes. */
  async loadAll(limit = 2000, concurrency = 4): Promise<void> {
    const queue = [this.root];
    let seen = 0;
    const worker = async (): Promise<void> => {
      for (let path = queue.shift(); path !== undefined && seen < limit; path = queue.shift()) {
        seen++;
        try {
          await this.load(path);
        } catch {
          continue; // shown on the node; search goes on
        }
        for (const child of this.children(path)) queue.push(child.path);
      }
    };
    // Start with one worker until the root's children are known, then fan out.
    await worker();
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Matches paths, namespaces, descriptions and method names/descriptions of the loaded nodes. */
  search(query: string): SearchResult {
    const q = query.trim().toLowerCase();
    const visible = new Set<string>();
    const methods = new Set<string>();
    let matches = 0;
    const show = (path: string): void => {
      for (let p: string | undefined = path; p !== undefined && !visible.has(p); p = this.parentOf(p)) visible.add(p);
    };
    for (const node of this.nodes.values()) {
      const text = `${node.path} ${node.summary?.description ?? ''} ${node.schema?.description ?? ''} ${node.schema?.long_description ?? ''}`;
      if (text.toLowerCase().includes(q)) {
        matches++;
        show(node.path);
      }
      for (const m of node.schema?.methods ?? []) {
        const path = this.methodPath(node.path, m.name);
        if (`${path} ${m.description}`.toLowerCase().includes(q)) {
          matches++;
          methods.add(path);
          show(node.path);
        }
      }
    }
    return { visible, methods, matches };
  }

  parentOf(path: string): string | undefined {
    if (path === this.root) return undefined;
    const dot = path.lastIndexOf('.');
    return dot < 0 ? this.root : path.slice(0, dot);
  }

  /**
   * Asks for the root hash; when it differs from the one the page loaded, re-fetches
   * the root and, below it, only the loaded nodes whose hash changed. Returns the
   * drift (also kept in `drift`) or undefined when nothing changed.
   */
  async checkDrift(): Promise<Drift | undefined> {
    const hash = await this.source.hash();
    if (this.rootHash === undefined || hash === this.rootHash) return undefined;
    const from = this.drift?.from ?? this.rootHash;
    const changed: string[] = [];
    await this.#refresh(this.root, changed);
    this.rootHash = this.nodes.get(this.root)!.schema!.hash;
    this.drift = { from, to: this.rootHash, changed: [...new Set([...(this.drift?.changed ?? []), ...changed])] };
    this.#emit();
    return this.drift;
  }

  /** Clears the drift badge and the per-node marks. */
  acknowledgeDrift(): void {
    this.drift = undefined;
    for (const node of this.nodes.values()) node.changed = false;
    this.#emit();
  }

  async #refresh(path: string, changed: string[]): Promise<void> {
    const node = this.nodes.get(path)!;
    const old = node.schema;
    const fresh = await this.source.schema(path === this.root ? undefined : path);
    node.schema = fresh;
    if (old && old.self_hash !== fresh.self_hash) {
      node.changed = true;
      changed.push(path);
    }
    const kept = new Set((fresh.children ?? []).map((c) => c.namespace));
    for (const gone of old?.children ?? []) {
      if (kept.has(gone.namespace)) continue;
      const gonePath = this.childPath(path, gone.namespace);
      changed.push(gonePath);
      for (const key of [...this.nodes.keys()]) if (key === gonePath || key.startsWith(`${gonePath}.`)) this.nodes.delete(key);
    }
    const before = new Map((old?.children ?? []).map((c) => [c.namespace, c.hash]));
    const refetch: Promise<void>[] = [];
    for (const child of this.children(path)) {
      const previous = before.get(child.namespace);
      if (previous === child.summary!.hash) continue;
      child.changed = true;
      if (child.schema && previous !== undefined) refetch.push(this.#refresh(child.path, changed));
      else changed.push(child.path); // new, or not loaded yet: fetched when expanded
    }
    await Promise.all(refetch);
  }
}
