import { assertSegment, type Activation, type CallContext, type MethodInfo } from '../activation/types.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import { PlexusError } from '../wire/errors.js';
import { RemoteConnection, type FlowLimits, type SocketLink } from './remote-connection.js';
import type { RelayOptions, RelayStream } from './relay-stream.js';
import { RemoteUnavailableError } from './remote-errors.js';
import { loadRemoteTree, type RemoteNode } from './remote-tree.js';

export interface RemoteHubOptions extends FlowLimits {
  /**
   * How often the remote's root hash is polled while connected (default 2000 ms; 0:
   * never). A change reloads the changed part of the tree and tells `onChange`
   * listeners, so the local root hash follows the remote's.
   */
  readonly watchMs?: number;
  /** Told when the connection comes up (detail: the remote's root hash) or goes down (detail: why), for logs. */
  readonly onState?: (mount: string, state: 'up' | 'down', detail: string) => void;
}

/**
 * A remote hub mounted as a child: the router hands it the rest of every path below
 * it (`forward`), which it relays over its connection as `<remote>.call`. It is
 * described by the remote's tree (`methods()`/`children()`, the remote's hashes),
 * fetched when a connection comes up and re-fetched when the remote's root hash
 * changes. The connection comes from a dialer (`--mount`) or from the remote joining
 * (`--join`); while there is none, calls fail at once with `remote_unavailable`, and
 * the last known description stays: a drop never unmounts.
 */
export class RemoteHub implements Activation {
  #tree?: RemoteNode;
  #conn?: RemoteConnection;
  #remoteRoot = 'plexus';
  #since = new Date().toISOString();
  #reason = 'not connected yet';
  readonly #listeners = new Set<() => void>();
  #initial: Promise<void> = Promise.resolve();
  #watch?: NodeJS.Timeout;
  #polling = false;
  #closed = false;
  #onClose?: () => void;
  #relay: RelayOptions = { remoteRoot: this.#remoteRoot };
  #rootSchema: RelayOptions = this.#relay;

  constructor(
    readonly namespace: string,
    readonly options: RemoteHubOptions = {},
  ) {
    assertSegment('Mount name', namespace);
  }

  get version(): string {
    return this.#tree?.version ?? '0.0.0';
  }

  get description(): string {
    return this.#tree?.description ?? `Remote hub (${this.#reason})`;
  }

  get longDescription(): string | undefined {
    return this.#tree?.longDescription;
  }

  /** True while a connection is up. */
  get connected(): boolean {
    return this.#conn?.open === true;
  }

  /** When the remote became unreachable (ISO 8601); undefined while connected. */
  get downSince(): string | undefined {
    return this.connected ? undefined : this.#since;
  }

  /** The remote's root hash as last seen; undefined before the first connection. */
  get remoteHash(): string | undefined {
    return this.#tree?.schema.hash;
  }

  methods(): readonly MethodInfo[] {
    return this.#tree?.methods() ?? [];
  }

  children(): readonly Activation[] {
    return this.#tree?.children() ?? [];
  }

  contentHashes(): { self_hash: string; children_hash?: string; hash: string } | undefined {
    return this.#tree?.contentHashes();
  }

  invoke(method: string): never {
    throw new Error(`${this.namespace}.${method} is routed through forward()`);
  }

  forward(rest: string, params: Readonly<Record<string, unknown>>, ctx: CallContext): RelayStream | PluginSchema | MethodSchema {
    const conn = this.#conn;
    if (!conn?.open) {
      // Schemas are still answered while the remote is down, from its last known tree.
      if (this.#tree && (rest === 'schema' || rest.endsWith('.schema'))) return this.#describe(rest, params);
      throw this.#unavailable();
    }
    // The remote strips its own root name, so `<root>.schema` and `<root>.stock.get` both route.
    const options = rest === 'schema' && params.method === undefined ? this.#rootSchema : this.#relay;
    return conn.relay(`${this.#remoteRoot}.call`, { method: `${this.#remoteRoot}.${rest}`, params }, options, ctx);
  }

  /** The hub awaits this before routing: the first connection attempt (bounded by the dialer). */
  prepare(): Promise<void> {
    return this.#initial;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** For a dialer: `prepare()` waits for this (the first attempt, whatever its outcome). */
  waitFor(attempt: Promise<unknown>, stop: () => void): void {
    this.#initial = attempt.then(
      () => {},
      () => {},
    );
    this.#onClose = stop;
  }

  /** For a dialer: why the last attempt failed (shown in `remote_unavailable` messages). */
  noteFailure(reason: string): void {
    if (!this.connected) this.#reason = reason;
  }

  /**
   * Takes a freshly opened socket to the remote (dialled, or turned around after a
   * join): learns the remote's root name and tree, then starts watching its hash.
   * A previous connection is replaced. Rejects (and closes the socket) when the
   * remote does not answer like a Plexus hub.
   */
  async attach(link: SocketLink): Promise<void> {
    if (this.#closed) {
      link.ws.close(1001, 'unmounted');
      return;
    }
    let conn: RemoteConnection | undefined;
    conn = new RemoteConnection(
      link,
      (reason) => {
        if (this.#conn === conn) this.#down(reason);
        return RemoteUnavailableError.of(
          this.namespace,
          this.#conn === conn || !this.#conn ? this.#since : new Date().toISOString(),
          reason,
        );
      },
      this.options,
    );
    try {
      const [info] = await conn.collect('_info', [], { remoteRoot: '' });
      const root = (info as { backend?: unknown } | undefined)?.backend;
      this.#remoteRoot = typeof root === 'string' && root ? root : 'plexus';
      this.#relay = { remoteRoot: this.#remoteRoot };
      this.#rootSchema = { remoteRoot: this.#remoteRoot, transform: (s) => this.#renamed(s) };
      await this.#refresh(conn);
    } catch (err) {
      conn.close(1011, 'mount failed');
      this.#reason = `the remote did not describe itself: ${(err as Error).message}`;
      throw err;
    }
    if (!conn.open) throw conn.lost;
    const previous = this.#conn;
    this.#conn = conn;
    if (previous?.open) previous.close(1000, 'replaced by a new connection');
    this.#startWatch(conn);
    this.options.onState?.(this.namespace, 'up', `hash ${this.remoteHash}`);
  }

  /** Unmounts for good: stops watching and dialling, closes the connection. */
  close(): void {
    this.#closed = true;
    this.#onClose?.();
    clearInterval(this.#watch);
    this.#conn?.close(1001, 'unmounted');
  }

  #down(reason: string): void {
    this.#since = new Date().toISOString();
    this.#reason = reason;
    this.options.onState?.(this.namespace, 'down', reason);
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  #unavailable(): RemoteUnavailableError {
    return RemoteUnavailableError.of(this.namespace, this.#since, this.#reason);
  }

  /** `<path>.schema` from the last known tree. */
  #describe(rest: string, params: Readonly<Record<string, unknown>>): PluginSchema | MethodSchema {
    const segments = rest.split('.').slice(0, -1);
    let node = this.#tree!;
    for (const seg of segments) {
      const next = node.remoteChildren().find((c) => c.namespace === seg);
      if (!next) throw PlexusError.activationNotFound(seg);
      node = next;
    }
    if (params.method === undefined) return node === this.#tree ? { ...node.schema, namespace: this.namespace } : node.schema;
    const method = node.schema.methods.find((m) => m.name === params.method);
    if (!method) throw PlexusError.methodNotFound([this.namespace, ...segments, String(params.method)].join('.'));
    return method;
  }

  /** The remote's root schema under the mount's name (the hashes stay the remote's). */
  #renamed(schema: unknown): unknown {
    return typeof schema === 'object' && schema !== null && 'methods' in schema
      ? { ...(schema as PluginSchema), namespace: this.namespace }
      : schema;
  }

  /** Re-reads the remote tree when its root hash moved; tells listeners when it did. */
  async #refresh(conn: RemoteConnection): Promise<void> {
    const root = this.#remoteRoot;
    const [event] = await conn.collect(`${root}.call`, { method: `${root}.hash`, params: {} }, this.#relay);
    const hash = (event as { value?: unknown } | undefined)?.value;
    if (typeof hash === 'string' && hash === this.#tree?.schema.hash) return;
    const fetch = async (path: string): Promise<PluginSchema> => {
      const [schema] = await conn.collect(
        `${root}.call`,
        { method: path ? `${root}.${path}.schema` : `${root}.schema`, params: {} },
        this.#relay,
      );
      return schema as PluginSchema;
    };
    const tree = await loadRemoteTree(fetch, this.namespace, this.#tree);
    const changed = tree.schema.hash !== this.#tree?.schema.hash;
    this.#tree = tree;
    if (changed) for (const l of [...this.#listeners]) l();
  }

  #startWatch(conn: RemoteConnection): void {
    clearInterval(this.#watch);
    const every = this.options.watchMs ?? 2000;
    if (every <= 0) return;
    // The poll doubles as a liveness check: a remote that stops answering (a silent
    // network partition sends no close) is dropped, which fails the calls in flight
    // and starts reconnecting. Not while this side is paused: answers then wait unread.
    const deadline = Math.max(10 * every, 2000);
    let pollStarted = 0;
    this.#watch = setInterval(() => {
      if (this.#conn !== conn || !conn.open) return;
      if (this.#polling) {
        if (conn.paused) pollStarted = Date.now();
        else if (Date.now() - pollStarted > deadline) conn.terminate(`the remote did not answer for ${deadline} ms`);
        return;
      }
      this.#polling = true;
      pollStarted = Date.now();
      this.#refresh(conn)
        .catch(() => {}) // a lost connection is handled by its close
        .finally(() => (this.#polling = false));
    }, every);
    this.#watch.unref();
  }
}
