import { DecoratedActivation, toActivation } from '../activation/decorated.js';
import { activationMetadata } from '../activation/decorators.js';
import { assertSegment, type Activation, type CallContext, type MethodInfo } from '../activation/types.js';
import { paramsProblem } from '../schema/validate.js';
import { CallStream, type CallStart } from '../stream/call-stream.js';
import { ItemFactory } from '../stream/item-factory.js';
import { AccessControl, AccessDenied } from '../auth/access.js';
import { auditCall } from '../auth/audit-call.js';
import type { HubAuth } from '../auth/hub-auth.js';
import type { Principal } from '../auth/principal.js';
import { DEFAULT_VERBS } from '../auth/verbs.js';
import { foldHash } from '../hash/content-hash.js';
import { ErrorCode, PlexusError } from './errors.js';
import { RootMethods } from './root-methods.js';
import { SCHEMA_PARAMS, TreeHashes, methodSchema, type HashesReport, type MethodSchema, type PluginSchema } from './schema.js';

export interface DynamicHubOptions {
  readonly version?: string;
  readonly description?: string;
  /**
   * Authentication and access control (token store, audit log, mode). Transports
   * ask it who a connection is; the router checks that principal at every hop.
   */
  readonly auth?: HubAuth;
}

export interface CallOptions {
  /** Aborting it cancels the call, like breaking out of the loop. */
  readonly signal?: AbortSignal;
  /**
   * Who is calling (transports pass the connection's principal). The router checks
   * it at every hop; without one the call is trusted in-process code.
   */
  readonly principal?: Principal;
}

interface Route {
  /** Nodes from the root down to `node`, root first: each is an access-check hop. */
  readonly hops: readonly Activation[];
  /** Set when the path leads nowhere: thrown after the guard saw the hops that exist. */
  readonly missing?: PlexusError;
  readonly node: Activation;
  /** Segments from the root to `node`, without the root's name. */
  readonly provenance: readonly string[];
  readonly method: string;
  /** Full dot path without the root prefix: the items' `content_type`. */
  readonly path: string;
}

/** A resolved method route with its item factory, kept until the tree changes. */
interface CachedRoute {
  readonly route: Route;
  readonly info?: MethodInfo;
  readonly items: ItemFactory;
}

interface Walk {
  readonly hops: Activation[];
  readonly provenance: string[];
  readonly missing?: PlexusError;
}

/** Routes remembered per hub; enough for any real tree, bounded against callers inventing paths. */
const ROUTE_CACHE_LIMIT = 4096;

/**
 * The root of a tree of activations. Routes dot paths (`solar.earth.luna.info`)
 * through nested hubs at any depth, validates params, turns every result into a
 * stream of items, and keeps the tree's content hashes.
 */
export class DynamicHub implements Activation {
  readonly version: string;
  readonly description: string;
  readonly auth?: HubAuth;
  /** Access rules; consulted only for principals that are restricted (token holders, unauthenticated). */
  readonly access: AccessControl;
  readonly #children = new Map<string, Activation>();
  readonly #childUnsubscribes = new Map<string, () => void>();
  readonly #listeners = new Set<() => void>();
  readonly #root: DecoratedActivation;
  #childList?: readonly Activation[];
  #hashes = new TreeHashes();
  #routes = new Map<string, CachedRoute>();
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
    this.access = new AccessControl(namespace);
    this.version = options.version ?? '1.0.0';
    this.description = options.description ?? 'Plexus RPC hub';
    if (options.auth) {
      if (options.auth.hub !== namespace) throw new Error(`The hub's auth is for hub "${options.auth.hub}", not "${namespace}"`);
      this.auth = options.auth;
    }
    const view = {
      call: (path: string, params: Record<string, unknown>, signal: AbortSignal, principal?: Principal) => this.#contents(path, params, signal, principal),
      rootHash: () => this.hash(),
      hashesReport: () => this.hashes(),
    };
    const methods = new RootMethods(namespace, this.description, this.version, view);
    this.#root = new DecoratedActivation(methods, activationMetadata(RootMethods)!);
    this.#rootItems = this.#items([namespace], namespace);
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

  /** Removes an activation; returns false when none had that namespace. */
  unregister(namespace: string): boolean {
    if (!this.#children.delete(namespace)) return false;
    this.#childUnsubscribes.get(namespace)?.();
    this.#childUnsubscribes.delete(namespace);
    this.#changed();
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
    this.#routes = new Map();
    this.access.invalidate();
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
   * The schema of the activation at `path` (the root when omitted), or of one
   * method, as `principal` may see it (everything when omitted).
   */
  async schema(path?: string, options: { principal?: Principal } = {}): Promise<PluginSchema | MethodSchema> {
    await this.ready();
    const principal = options.principal;
    const why = principal?.unauthenticated();
    if (why) throw new AccessDenied(ErrorCode.AuthenticationRequired, why);
    const segments = path ? this.#segments(path) : [];
    const walked = await this.#walk(segments, segments.length);
    let missing = walked.missing;
    if (!missing) {
      try {
        this.#guardHops(walked.hops, segments, segments.join('.'), principal, undefined);
        return this.#plugin(walked.hops[walked.hops.length - 1]!, segments, principal);
      } catch (err) {
        // A hidden activation goes on exactly like a missing one.
        if (!(err instanceof AccessDenied) || err.code !== ErrorCode.MethodNotFound) throw err;
        missing = err;
      }
    }
    if (segments.length === 0) throw missing;
    // Not an activation: maybe a method.
    const route = await this.#route(segments.join('.'));
    this.#guardRoute(route, principal, route.method === 'schema' ? undefined : route.node.methods().find((m) => m.name === route.method));
    if (route.missing) throw route.missing;
    if (route.method === 'schema') throw PlexusError.methodNotFound(route.path);
    return this.#methodSchema(route);
  }

  /** A node's schema, filtered for the principal. */
  #plugin(node: Activation, at: readonly string[], principal: Principal | undefined): PluginSchema {
    return this.access.plugin(principal, node, at, this.#hashes.plugin(node));
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
    const audit = this.auth?.audit;
    if (audit && principal) stream.observe(auditCall(audit, principal, path, params, () => this.#routes.get(path)?.info?.verbs ?? (this.#routes.get(path)?.info ? DEFAULT_VERBS : undefined)));
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

  /** The `_info` stream: which backend this is and how to authenticate. */
  info(): CallStream {
    const content = { backend: this.namespace, auth_capabilities: { mechanisms: this.auth?.mechanisms() ?? [{ kind: 'anonymous' }] } };
    return new CallStream(() => this.ready().then(() => content), this.#items([this.namespace], '_info'));
  }

  #items(provenance: readonly string[], contentType: string): ItemFactory {
    return new ItemFactory(provenance, contentType, () => this.#currentHash());
  }

  #start(path: string, params: unknown, call: CallStart, principal: Principal | undefined): unknown {
    if (!this.#isReady) return this.ready().then(() => this.#start(path, params, call, principal));
    if (params === undefined || params === null) params = {};
    if (typeof params !== 'object' || Array.isArray(params)) {
      throw PlexusError.invalidParams(`params must be an object, got ${Array.isArray(params) ? 'an array' : typeof params}`);
    }
    const cached = this.#routes.get(path);
    if (cached) return this.#invoke(cached, params as Record<string, unknown>, call, principal);
    const routed = this.#route(path);
    return routed instanceof Promise
      ? routed.then((route) => this.#invoke(this.#remember(path, route), params as Record<string, unknown>, call, principal))
      : this.#invoke(this.#remember(path, routed), params as Record<string, unknown>, call, principal);
  }

  /**
   * The access check, once per hop, before params are validated: the root (is the
   * caller authenticated?), each activation on the way (is it visible?), then the
   * method (may the principal call it?). A refusal reads like "not found".
   */
  #guardRoute(route: Route, principal: Principal | undefined, info: MethodInfo | undefined): void {
    if (principal === undefined || (principal.kind !== 'token' && principal.kind !== 'unauthenticated')) return;
    this.#guardHops(route.hops, route.provenance, route.path, principal, route.missing ? undefined : info);
  }

  #guardHops(hops: readonly Activation[], segments: readonly string[], path: string, principal: Principal | undefined, info: MethodInfo | undefined): void {
    if (principal === undefined || (principal.kind !== 'token' && principal.kind !== 'unauthenticated')) return;
    const last = hops.length - 1;
    for (let i = 0; i <= last; i++) {
      this.access.guard({ principal, node: hops[i]!, at: segments.slice(0, i), path, final: i === last, ...(i === last && info ? { method: info } : {}) });
    }
  }

  #remember(path: string, route: Route): CachedRoute {
    const provenance = route.provenance.length > 0 ? route.provenance : [this.namespace];
    const entry: CachedRoute = {
      route,
      info: route.missing || route.method === 'schema' ? undefined : route.node.methods().find((m) => m.name === route.method),
      items: this.#items(provenance, route.path),
    };
    // Only real methods are remembered, so unknown paths cannot fill the cache.
    if (!route.missing && (entry.info || route.method === 'schema') && this.#routes.size < ROUTE_CACHE_LIMIT) this.#routes.set(path, entry);
    return entry;
  }

  #invoke({ route, info, items }: CachedRoute, params: Record<string, unknown>, call: CallStart, principal: Principal | undefined): unknown {
    call.use(items);
    this.#guardRoute(route, principal, info);
    if (route.missing) throw route.missing;
    if (route.method === 'schema') {
      const problem = paramsProblem(SCHEMA_PARAMS, params);
      if (problem) throw PlexusError.invalidParams(problem);
      const name = params.method as string | undefined;
      if (name === undefined) return this.#plugin(route.node, route.provenance, principal);
      return this.#methodSchema({ ...route, method: name, path: `${route.path.slice(0, -'.schema'.length)}.${name}` }, principal);
    }
    if (!info) throw PlexusError.methodNotFound(route.path);
    const problem = paramsProblem(info.params, params);
    if (problem) throw PlexusError.invalidParams(problem);
    const ctx: CallContext = {
      get signal() {
        return call.signal; // lazy: made only if the method asks
      },
      path: route.path,
      principal,
    };
    return route.node.invoke(route.method, params, ctx);
  }

  /** One method's schema; a method the principal may not see is "not found", like a missing one. */
  #methodSchema(route: Route, principal?: Principal): MethodSchema {
    const info = route.node.methods().find((m) => m.name === route.method);
    if (!info || !this.access.methodVisible(principal, route.provenance, info)) throw PlexusError.methodNotFound(route.path);
    return methodSchema(info);
  }

  #segments(path: string): string[] {
    const segments = path.split('.');
    if (segments[0] === this.namespace) segments.shift();
    return segments;
  }

  /** Resolves a method path; a Promise only when a node on the way still has to load its schema. */
  #route(path: string): Route | Promise<Route> {
    const segments = path.split('.');
    if (segments.length < 2) throw PlexusError.invalidParams(`Invalid method format: ${path}`);
    if (segments[0] === this.namespace) segments.shift();
    const method = segments[segments.length - 1]!;
    const found = this.#walk(segments, segments.length - 1);
    const route = (w: Walk): Route => ({
      hops: w.hops,
      node: w.hops[w.hops.length - 1]!,
      provenance: w.provenance,
      method,
      path: w.provenance.length > 0 ? `${w.provenance.join('.')}.${method}` : `${this.namespace}.${method}`,
      ...(w.missing ? { missing: w.missing } : {}),
    });
    return found instanceof Promise ? found.then(route) : route(found);
  }

  /**
   * Follows `segments[0..depth)` down from the root. Where a segment leads nowhere
   * the walk stops with `missing` set, so the access check still sees the hops that
   * exist (a hidden activation and a missing one then fail the same way).
   */
  #walk(segments: readonly string[], depth: number): Walk | Promise<Walk> {
    let node: Activation = this;
    const hops: Activation[] = [this];
    for (let i = 0; i < depth; i++) {
      const seg = segments[i]!;
      const next: Activation | undefined = node === this ? this.#children.get(seg) : node.children?.().find((c) => c.namespace === seg);
      if (!next) return { hops, provenance: segments.slice(0, i), missing: PlexusError.activationNotFound(seg) };
      node = next;
      hops.push(node);
      // A child added below a decorated hub since the last ready(): load it now.
      if (node instanceof DecoratedActivation && !node.prepared) {
        const rest = node.prepare().then(() => this.#walk(segments, depth));
        return rest;
      }
    }
    return { hops, provenance: segments.slice(0, depth) };
  }

  /** The data contents of a call; an error item becomes a thrown PlexusError. */
  async *#contents(path: string, params: Record<string, unknown>, signal: AbortSignal, principal?: Principal): AsyncGenerator<unknown> {
    // The inner call is checked for the same principal: `<root>.call` is no way around the rules.
    for await (const item of this.call(path, params, { signal, ...(principal ? { principal } : {}) })) {
      if (item.type === 'data') yield item.content;
      else if (item.type === 'error') throw new PlexusError(Number(item.code ?? -32000), item.message, item.recoverable);
    }
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
