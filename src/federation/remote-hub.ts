import { assertSegment, type Activation, type CallContext, type MethodInfo } from '../activation/types.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import { PlexusError } from '../wire/errors.js';
import { RemoteConnection, type FlowLimits, type SocketLink } from './remote-connection.js';
import type { RelayOptions, RelayStream } from './relay-stream.js';
import { MountLimitError, resolveMountLimits, TreeBudget, type MountLimits } from './mount-limits.js';
import { RemoteUnavailableError } from './remote-errors.js';
import { loadRemoteTree, type RemoteNode } from './remote-tree.js';

export interface RemoteHubOptions extends FlowLimits, MountLimits {
  /**
   * How often the remote's root hash is polled while connected (default 2000 ms; 0:
   * never). A change reloads the changed part of the tree and tells `onChange`
   * listeners, so the local root hash follows the remote's. Also the shortest time
   * between two reads of the tree (2000 ms when 0), whatever the remote does: lying
   * about hashes, or dropping and coming back.
   */
  readonly watchMs?: number;
  /**
   * Told when the connection comes up (detail: the remote's root hash), goes down
   * (detail: why), or an attach is refused (a limit, the deadline, a bad answer;
   * detail: why, told once per distinct reason), for logs.
   */
  readonly onState?: (mount: string, state: 'up' | 'down' | 'refused', detail: string) => void;
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
  readonly #limits: ReturnType<typeof resolveMountLimits>;
  /** Earliest time the next tree read may start (reads are at least the watch interval apart). */
  #nextRead = 0;
  /** The root hash the remote reported before the last read: reported again, nothing is re-read. */
  #lastReported?: string;
  /** The last refusal reported through onState (a remote refused at every retry is told once). */
  #lastRefusal?: string;

  constructor(
    readonly namespace: string,
    readonly options: RemoteHubOptions = {},
  ) {
    assertSegment('Mount name', namespace);
    this.#limits = resolveMountLimits(options);
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

  /**
   * The hub awaits this before routing: the first connection attempt, for at most
   * the attach deadline, so a hub serves its local tree whatever its mounts do.
   */
  prepare(): Promise<void> {
    return this.#initial;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** For a dialer: `prepare()` waits for this (the first attempt, whatever its outcome). */
  waitFor(attempt: Promise<unknown>, stop: () => void): void {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#limits.attachTimeoutMs);
      timer.unref();
    });
    const settled = attempt.then(
      () => {},
      () => {},
    );
    this.#initial = Promise.race([settled, deadline]).finally(() => clearTimeout(timer));
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
    /** Why the socket went while attaching (without the since-date of the error calls get, for the log). */
    let lost: string | undefined;
    conn = new RemoteConnection(
      link,
      (reason) => {
        if (this.#conn === conn) this.#down(reason);
        else lost = reason;
        return RemoteUnavailableError.of(
          this.namespace,
          this.#conn === conn || !this.#conn ? this.#since : new Date().toISOString(),
          reason,
        );
      },
      this.options,
    );
    // Reads of the tree are at least the watch interval apart: a remote that drops and
    // comes back (or re-joins) at once waits for its turn, outside the deadline.
    await this.#readSlot();
    // The deadline: a remote that accepts the socket and then says nothing (or talks
    // forever) is dropped; every read waiting on it fails at once.
    let late: MountLimitError | undefined;
    const ms = this.#limits.attachTimeoutMs;
    const timer = setTimeout(() => {
      late = new MountLimitError(`the remote did not describe itself within ${ms} ms (the mount's attach deadline)`);
      conn.terminate(late.message);
    }, ms);
    try {
      const budget = new TreeBudget(this.#limits);
      const [info] = await conn.collect('_info', [], { remoteRoot: '' }, (n) => budget.bytes(n));
      const root = (info as { backend?: unknown } | undefined)?.backend;
      this.#remoteRoot = typeof root === 'string' && root ? root : 'plexus';
      this.#relay = { remoteRoot: this.#remoteRoot };
      this.#rootSchema = { remoteRoot: this.#remoteRoot, transform: (s) => this.#renamed(s) };
      await this.#refresh(conn, budget, true);
      if (!conn.open) throw conn.lost;
    } catch (err) {
      const why = late ?? (err instanceof MountLimitError || lost === undefined ? (err as Error) : new Error(lost));
      conn.close(1008, why instanceof MountLimitError ? 'mount limit' : 'mount failed');
      this.#reason = `the remote did not describe itself: ${why.message}`;
      this.#refused(why.message);
      throw why;
    } finally {
      clearTimeout(timer);
    }
    this.#lastRefusal = undefined;
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

  /** Tells onState about a refused attach, once per distinct reason (the dialer retries every few seconds). */
  #refused(why: string): void {
    if (why === this.#lastRefusal) return;
    this.#lastRefusal = why;
    this.options.onState?.(this.namespace, 'refused', why);
  }

  get #readInterval(): number {
    const every = this.options.watchMs ?? 2000;
    return every > 0 ? every : 2000;
  }

  /** Waits until a tree read may start, and books the next one a watch interval later. */
  async #readSlot(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.#nextRead);
    this.#nextRead = at + this.#readInterval;
    if (at > now) await new Promise((r) => setTimeout(r, at - now).unref());
  }

  /**
   * Re-reads the remote tree when its root hash moved; tells listeners when it did.
   * Everything read is charged to `budget` (the mount's limits); the hash the remote
   * reported is remembered, so a remote whose `hash` disagrees with its schema is
   * read once for that hash, not at every poll. `fresh` (a new connection): read it
   * all, reusing nothing: verbs are not in the hashes, and a remote restarted with
   * other verbs under the same hashes must not keep the old ones here.
   */
  async #refresh(conn: RemoteConnection, budget = new TreeBudget(this.#limits), fresh = false): Promise<void> {
    const root = this.#remoteRoot;
    const charge = (n: number): void => budget.bytes(n);
    const [event] = await conn.collect(`${root}.call`, { method: `${root}.hash`, params: {} }, this.#relay, charge);
    const hash = (event as { value?: unknown } | undefined)?.value;
    if (!fresh && typeof hash === 'string' && this.#tree && (hash === this.#tree.schema.hash || hash === this.#lastReported)) return;
    const fetch = async (path: string): Promise<PluginSchema> => {
      const [schema] = await conn.collect(
        `${root}.call`,
        { method: path ? `${root}.${path}.schema` : `${root}.schema`, params: {} },
        this.#relay,
        charge,
      );
      return schema as PluginSchema;
    };
    this.#nextRead = Math.max(this.#nextRead, Date.now() + this.#readInterval);
    const tree = await loadRemoteTree(fetch, this.namespace, budget, fresh ? undefined : this.#tree);
    this.#lastReported = typeof hash === 'string' ? hash : undefined;
    const changed = fresh || tree.schema.hash !== this.#tree?.schema.hash;
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
        .catch((err: Error) => {
          // A lost connection is handled by its close. A tree past the limits is
          // refused like at attach: the connection goes, the dialer tries again later.
          if (!(err instanceof MountLimitError)) return;
          this.#refused(err.message);
          conn.close(1008, 'mount limit');
        })
        .finally(() => (this.#polling = false));
    }, every);
    this.#watch.unref();
  }
}
