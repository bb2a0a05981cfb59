import { DecoratedActivation, toActivation } from '../activation/decorated.js';
import { activationMetadata } from '../activation/decorators.js';
import { assertSegment, type Activation, type CallContext, type MethodInfo } from '../activation/types.js';
import { CallStream, type CallStart } from '../stream/call-stream.js';
import { ItemFactory } from '../stream/item-factory.js';
import { foldHash } from '../hash/content-hash.js';
import { PlexusError, errorItemCode } from '../wire/errors.js';
import { PendingRequests } from './pending-requests.js';
import { composeGuards, type HubPolicy, type ObservedCall, type RouteGuard } from './policy.js';
import { RootMethods } from './root-methods.js';
import { Router } from './router.js';
import { methodSchema, pluginSchema, visibleSchema, type MethodSchema, type PluginSchema } from './schemas.js';
import { TreeHashes, type HashesReport } from './tree-hashes.js';

export interface DynamicHubOptions {
  readonly version?: string;
  readonly description?: string;
  /**
   * Who may call and see what, and who watches calls: its guard is asked at every
   * hop (first), its visibility filters schemas, its observer sees every call. A
   * `HubAuth` is one (tokens, grants, the audit log). Default: none, all allowed.
   */
  readonly policy?: HubPolicy;
  /**
   * Asked once per hop of every call after the policy's guard, before params are
   * validated; throw to refuse. Default: none (every call passes). See `RouteGuard`.
   */
  readonly guard?: RouteGuard;
}

export interface CallOptions {
  /** Aborting it cancels the call, like breaking out of the loop. */
  readonly signal?: AbortSignal;
  /**
   * Who is calling (transports pass the connection's principal): checked at every
   * hop, audited, and `CallContext.principal`. Without one the call is trusted
   * in-process code.
   */
  readonly principal?: unknown;
}

/**
 * The root of a tree of activations: keeps the tree, its readiness, its content
 * hashes and change listeners, and turns every call into a stream of items. Path
 * resolution, the route cache and the per-hop guard live in its `Router`.
 */
export class DynamicHub implements Activation {
  readonly version: string;
  readonly description: string;
  /** The policy given to the constructor (see `DynamicHubOptions.policy`). */
  readonly policy?: HubPolicy;
  readonly #children = new Map<string, Activation>();
  readonly #childUnsubscribes = new Map<string, () => void>();
  readonly #listeners = new Set<() => void>();
  readonly #root: DecoratedActivation;
  #childList?: readonly Activation[];
  #hashes = new TreeHashes();
  readonly #router: Router;
  /** Questions methods asked mid-stream (`ctx.request`), until answered. */
  readonly #requests = new PendingRequests();
  /** Items before routing (errors and done carry no content_type, so one factory serves all calls). */
  readonly #rootItems: ItemFactory;
  #ready?: Promise<void>;
  #isReady = false;
  /** Hash of the empty fold until the tree has loaded once. */
  #lastHash = foldHash();

  constructor(
    readonly namespace = 'plexus',
    options: DynamicHubOptions = {},
  ) {
    assertSegment('Hub namespace', namespace);
    this.version = options.version ?? '1.0.0';
    this.description = options.description ?? 'Plexus RPC hub';
    const policy = options.policy;
    if (policy) {
      if (policy.hub !== undefined && policy.hub !== namespace)
        throw new Error(`The hub's policy is for hub "${policy.hub}", not "${namespace}"`);
      this.policy = policy;
    }
    const view = {
      call: (path: string, params: Record<string, unknown>, signal: AbortSignal, principal?: unknown) =>
        this.#contents(path, params, signal, principal),
      rootHash: () => this.hash(),
      hashesReport: (principal: unknown) => this.#visibleHashes(this, [], principal),
    };
    const methods = new RootMethods(namespace, this.description, this.version, view);
    this.#root = new DecoratedActivation(methods, activationMetadata(RootMethods)!);
    this.#rootItems = this.#items([namespace], namespace);
    this.#router = new Router(
      {
        namespace,
        requests: this.#requests,
        root: this,
        child: (name) => this.#children.get(name),
        items: (provenance, contentType) => this.#items(provenance, contentType),
        plugin: (node, at, principal) => this.#plugin(node, at, principal),
        hashes: (node, at, principal) => this.#visibleHashes(node, at, principal),
        contents: (path, params, signal, principal) => this.#contents(path, params, signal, principal),
        visible: (principal, node, at, info) => this.visible(principal, node, at, info),
      },
      {
        guard: composeGuards([policy?.guard, options.guard]),
        ...(policy?.visible ? { visible: (principal, node, at, info) => this.visible(principal, node, at, info) } : {}),
      },
    );
  }

  // ---- the tree ---------------------------------------------------------------

  /** Adds activations: `@activation` class instances or any `Activation` (hubs included). */
  register(...activations: object[]): this {
    for (const a of activations) {
      const child = toActivation(a);
      if (this.#children.has(child.namespace)) throw new Error(`Namespace "${child.namespace}" is already registered`);
      if (child.namespace === this.namespace) throw new Error(`Namespace "${child.namespace}" is the hub's own name`);
      this.#children.set(child.namespace, child);
      const off = child.onChange?.(() => this.#changed());
      if (off) this.#childUnsubscribes.set(child.namespace, off);
    }
    this.#changed();
    return this;
  }

  /** Removes an activation and closes it (`Activation.close`); returns false when none had that namespace. */
  unregister(namespace: string): boolean {
    const child = this.#children.get(namespace);
    if (!child) return false;
    this.#children.delete(namespace);
    this.#childUnsubscribes.get(namespace)?.();
    this.#childUnsubscribes.delete(namespace);
    this.#changed();
    child.close?.();
    return true;
  }

  children(): readonly Activation[] {
    return (this.#childList ??= [...this.#children.values()]);
  }

  /** Called after the tree (or anything below) changed; returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    this.#childList = undefined;
    this.#hashes = new TreeHashes();
    this.#router.clear();
    this.policy?.treeChanged?.();
    this.#isReady = false;
    this.#ready = undefined;
    for (const l of this.#listeners) l();
  }

  /**
   * Loads every schema in the tree (from the disk cache, or the TypeScript checker
   * in one batch). Calls await it on their own; await it yourself to pay the cost
   * at start-up and surface schema errors early.
   */
  ready(): Promise<void> {
    if (this.#isReady) return Promise.resolve();
    if (!this.#ready) {
      const attempt = (this.#ready = prepareTree(this).then(() => {
        if (this.#ready === attempt) this.#isReady = true;
      }));
      attempt.catch(() => {
        if (this.#ready === attempt) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  async prepare(): Promise<void> {
    await this.#root.prepare();
  }

  // ---- Activation: the root's own methods ---------------------------------------

  methods(): readonly MethodInfo[] {
    return this.#root.methods();
  }

  invoke(method: string, params: Readonly<Record<string, unknown>>, ctx: CallContext): unknown {
    return this.#root.invoke(method, params, ctx);
  }

  // ---- hashes and schemas ---------------------------------------------------------

  /** The root hash (after `ready()`). */
  hash(): string {
    return this.#hashes.of(this).hash;
  }

  /** For item metadata: must not throw, even when the tree failed to load (the item may be that error). */
  #currentHash(): string {
    try {
      return (this.#lastHash = this.hash());
    } catch {
      return this.#lastHash;
    }
  }

  hashes(): HashesReport {
    return this.#hashes.report(this);
  }

  /**
   * `hashes` of `node` (the root, or a mounted hub) as `principal` may see it: a
   * child it may not see is left out, as in its schema. The hash values stay the
   * tree's (see docs/security.md).
   */
  #visibleHashes(node: Activation, at: readonly string[], principal: unknown): HashesReport {
    const report = this.#hashes.report(node);
    if (!this.policy?.visible || !report.children) return report;
    const children = node.children?.() ?? [];
    const shown = new Set(children.filter((c) => this.visible(principal, c, [...at, c.namespace])).map((c) => c.namespace));
    return shown.size === report.children.length ? report : { ...report, children: report.children.filter((c) => shown.has(c.namespace)) };
  }

  /**
   * May `principal` see the node at `at` (segments below the root), or that method
   * of it? The policy's answer; everything is visible without one.
   */
  visible(principal: unknown, node: Activation, at: readonly string[], method?: MethodInfo): boolean {
    return this.policy?.visible?.(principal, node, at, method) ?? true;
  }

  /** What `<node>.schema` returns to `principal`. */
  #plugin(node: Activation, at: readonly string[], principal: unknown): PluginSchema {
    const schema = pluginSchema(node, this.#hashes);
    return this.policy?.visible ? visibleSchema(schema, node, at, principal, (p, n, a, m) => this.visible(p, n, a, m)) : schema;
  }

  /**
   * The schema of the activation at `path` (the root when omitted), or of one
   * method, as `principal` may see it (everything when omitted): the same rules as
   * a call, and a hidden path fails exactly like a missing one.
   */
  async schema(path?: string, options: { principal?: unknown } = {}): Promise<PluginSchema | MethodSchema> {
    await this.ready();
    const principal = options.principal;
    this.policy?.admit?.(principal);
    const segments = path ? this.#segments(path) : [];
    const walk = await this.#router.walk(segments, segments.length);
    let missing = walk.missing;
    if (walk.mountedAt !== undefined && walk.mountedAt < segments.length) {
      const hidden = this.#hiddenHop(walk.hops, segments, principal);
      if (hidden) throw hidden;
      return this.#mountedSchema(walk.hops[walk.hops.length - 1]!, segments, walk.mountedAt, principal);
    }
    if (!missing && (walk.mountedAt === undefined || walk.mountedAt === segments.length)) {
      const hidden = this.#hiddenHop(walk.hops, segments, principal);
      if (!hidden) return this.#plugin(walk.hops[walk.hops.length - 1]!, segments, principal);
      missing = hidden;
    }
    if (segments.length === 0) throw missing;
    // Not an activation: maybe a method.
    const route = await this.#router.resolve(segments.join('.'));
    const hidden = this.#hiddenHop(route.hops, route.provenance, principal);
    if (hidden) throw hidden;
    if (route.missing) throw route.missing;
    if (route.method === 'schema') throw PlexusError.methodNotFound(route.path);
    return this.#router.methodSchema(route, principal);
  }

  /** The refusal for the first activation on the way that the principal may not see, if any. */
  #hiddenHop(hops: readonly Activation[], segments: readonly string[], principal: unknown): PlexusError | undefined {
    for (let i = 1; i < hops.length; i++) {
      if (!this.visible(principal, hops[i]!, segments.slice(0, i))) return PlexusError.activationNotFound(segments[i - 1]!);
    }
    return undefined;
  }

  /** Below a mounted node, its description (the remote's tree, as last fetched) answers, filtered like any other. */
  #mountedSchema(mount: Activation, segments: readonly string[], mountedAt: number, principal: unknown): PluginSchema | MethodSchema {
    let node = mount;
    for (let i = mountedAt; i < segments.length; i++) {
      const next = node.children?.().find((c) => c.namespace === segments[i]);
      if (next) {
        if (!this.visible(principal, next, segments.slice(0, i + 1))) throw PlexusError.activationNotFound(segments[i]!);
        node = next;
        continue;
      }
      const info = i === segments.length - 1 ? node.methods().find((m) => m.name === segments[i]) : undefined;
      if (info && this.visible(principal, node, segments.slice(0, i), info)) return methodSchema(info);
      throw PlexusError.activationNotFound(segments[i]!);
    }
    return this.#plugin(node, segments, principal);
  }

  // ---- calls --------------------------------------------------------------------------

  /**
   * Calls the method at `path` (`echo.echo`, `solar.earth.luna.info`, `plexus.hash`).
   * Nothing runs until the stream is iterated; it always ends with a `done` item,
   * preceded by an `error` item on failure. Stopping early cancels the method.
   */
  call(path: string, params: unknown = {}, options: CallOptions = {}): CallStream {
    const principal = options.principal;
    const stream = new CallStream((call) => this.#start(path, params, call, principal), this.#rootItems);
    const observeCall = this.policy?.observeCall;
    if (observeCall) {
      const observer = observeCall(new HubCall(this.#router, stream, principal, path, params));
      if (observer) stream.observe(observer);
    }
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) stream.cancel();
      else {
        const cancel = () => stream.cancel();
        signal.addEventListener('abort', cancel, { once: true });
        // A long-lived signal shared by many calls must not keep every finished stream alive.
        stream.onEnd(() => signal.removeEventListener('abort', cancel));
      }
    }
    return stream;
  }

  /**
   * Answers a `request` item (what `<root>.respond` does). Throws a PlexusError for
   * an unknown or expired id, or an answer the question's schema refuses. `from`:
   * the principal answering (a connection's); a question asked of another caller is
   * then an unknown id. Without it (trusted in-process code) any question may be answered.
   */
  respond(requestId: string, responseData: unknown, from?: unknown): void {
    this.#requests.respond(requestId, responseData, from);
  }

  /** Fails a pending request with a message for the method (a caller that cannot answer). False when unknown. */
  rejectRequest(requestId: string, message: string): boolean {
    return this.#requests.reject(requestId, message);
  }

  /** How many requests are waiting for an answer. */
  get pendingRequests(): number {
    return this.#requests.size;
  }

  /** The `_info` stream: which backend this is and how to authenticate. */
  info(): CallStream {
    const content = { backend: this.namespace, auth_capabilities: { mechanisms: this.policy?.mechanisms?.() ?? [{ kind: 'anonymous' }] } };
    return new CallStream(() => this.ready().then(() => content), this.#items([this.namespace], '_info'));
  }

  #items(provenance: readonly string[], contentType: string): ItemFactory {
    return new ItemFactory(provenance, contentType, () => this.#currentHash());
  }

  #start(path: string, params: unknown, call: CallStart, principal: unknown): unknown {
    if (!this.#isReady) return this.ready().then(() => this.#start(path, params, call, principal));
    return this.#router.call(path, params, call, principal);
  }

  #segments(path: string): string[] {
    const segments = path.split('.');
    if (segments[0] === this.namespace) segments.shift();
    return segments;
  }

  /** The data contents of a call; an error item becomes a thrown PlexusError. */
  async *#contents(path: string, params: Record<string, unknown>, signal: AbortSignal, principal: unknown): AsyncGenerator<unknown> {
    // The inner call is checked as the same principal: `<root>.call` is no way around the rules.
    for await (const item of this.call(path, params, { signal, principal })) {
      if (item.type === 'data') yield item.content;
      else if (item.type === 'error') throw new PlexusError(errorItemCode(item.code), item.message, item.recoverable, item.details);
    }
  }
}

/** A call as the policy's observer sees it: an object with methods, not two closures per call. */
class HubCall implements ObservedCall {
  readonly #router: Router;
  readonly #stream: CallStream;

  constructor(
    router: Router,
    stream: CallStream,
    readonly principal: unknown,
    readonly path: string,
    readonly params: unknown,
  ) {
    this.#router = router;
    this.#stream = stream;
  }

  method(): MethodInfo | undefined {
    return this.#router.cachedMethod(this.path);
  }

  abort(err: unknown): void {
    this.#stream.abort(err);
  }
}

/** Prepares all nodes at once, so the schema loader can batch them into one compiler run. */
async function prepareTree(root: Activation): Promise<void> {
  const nodes: Activation[] = [];
  const visit = (node: Activation): void => {
    nodes.push(node);
    node.children?.().forEach(visit);
  };
  visit(root);
  await Promise.all(nodes.map((n) => n.prepare?.()));
}
