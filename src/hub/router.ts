import { DecoratedActivation } from '../activation/decorated.js';
import type { Activation, CallContext, MethodInfo, RequestOptions } from '../activation/types.js';
import { paramsProblem } from '../schema/validate.js';
import type { CallStart } from '../stream/call-stream.js';
import type { ItemFactory } from '../stream/item-factory.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import type { PendingRequests } from './pending-requests.js';
import { NotVisible, type AccessCheck, type RouteGuard } from './policy.js';
import { SCHEMA_PARAMS, methodSchema } from './schemas.js';
import type { HashesReport } from './tree-hashes.js';

/** A resolved method path. */
export interface Route {
  /** Nodes from the root down to `node`, root first. */
  readonly hops: readonly Activation[];
  /** The node that runs the call: the method's owner, or a mounted node. */
  readonly node: Activation;
  /** Segments from the root to `node`, without the root's name. */
  readonly provenance: readonly string[];
  /** The method name at `node`, or, for a mounted node, the first segment of `rest`. */
  readonly method: string;
  /** Full dot path without the root prefix: the items' `content_type`. */
  readonly path: string;
  /** Set when `node` is mounted (has `forward`): the path below it. */
  readonly rest?: string;
  /** Set when the path leads nowhere: thrown after the guard saw the hops that exist. */
  readonly missing?: PlexusError;
}

/** What the router needs from the hub that owns it. */
export interface RouterHost {
  readonly namespace: string;
  /** Where `ctx.request()` registers the questions methods ask. */
  readonly requests: PendingRequests;
  /** The root node (the hub). */
  readonly root: Activation;
  /** A child of the root by namespace (the root's children are looked up by map). */
  child(namespace: string): Activation | undefined;
  /** The item factory of a route: provenance and `content_type` of its items. */
  items(provenance: readonly string[], contentType: string): ItemFactory;
  /** What `<node>.schema` returns to `principal` (`at`: the node's segments below the root). */
  plugin(node: Activation, at: readonly string[], principal: unknown): PluginSchema;
  /** What `hashes` of a mounted hub's description returns to `principal` (children it may not see left out). */
  hashes(node: Activation, at: readonly string[], principal: unknown): HashesReport;
  /**
   * The data contents of a call made through this hub as `principal` (what
   * `<root>.call` yields): a nested hub's `call` is routed here, so its inner path
   * meets the same visibility, guard and audit as a direct call.
   */
  contents(path: string, params: Record<string, unknown>, signal: AbortSignal, principal: unknown): AsyncIterable<unknown>;
  /** May `principal` see this node, or this method of it (the hub's policy)? A hidden method is "not found" in `schema {method}` too. */
  visible(principal: unknown, node: Activation, at: readonly string[], method?: MethodInfo): boolean;
}

/** The policy's visibility (`HubPolicy.visible`). */
export type Visibility = (principal: unknown, node: Activation, at: readonly string[], method?: MethodInfo) => boolean;

export interface RouterOptions {
  readonly guard?: RouteGuard;
  /** Asked about every hop and method of every call; undefined when everything is visible (the hot path skips it). */
  readonly visible?: Visibility;
}

/** A resolved method route with its item factory, kept until the tree changes. */
interface CachedRoute {
  readonly route: Route;
  readonly info?: MethodInfo;
  readonly items: ItemFactory;
  /** The turn form projects this route's calls: a method of a non-legacy activation, not the root's own. */
  readonly turns: boolean;
  /** `route.provenance.slice(0, i)` per hop `i`, made on first use (what the policy is asked with). */
  readonly prefixes: (readonly string[] | undefined)[];
}

/** A guarded call, as the router works out what it is for its principal (see `#guarded`). */
interface GuardPlan {
  readonly entry: CachedRoute;
  readonly params: Record<string, unknown>;
  readonly call: CallStart;
  readonly principal: unknown;
  info: MethodInfo | undefined;
  hops: readonly Activation[];
  at: readonly string[];
  /** The route's own prefixes of `at` while `at` is the route's provenance. */
  prefixes: (readonly string[] | undefined)[] | undefined;
  /** Thrown after the guard, before the route's items are used (as a missing activation is). */
  missing: PlexusError | undefined;
  /** Thrown after the items are used (as a missing method of a local node is). */
  absentMethod: PlexusError | undefined;
  /** Set when the call reads a mounted node's described schema: answered here, filtered, never relayed. */
  described: Activation | undefined;
  /** Set when the call reads a mounted hub's `hashes`: answered here, filtered, never relayed. */
  hashesOf: Activation | undefined;
  /** Set when the call is a mounted hub's `call`: its inner path is routed here, never relayed. */
  routedCall: boolean;
  /** The hop that runs the call (-1 when the path leads nowhere). */
  last: number;
}

interface Walk {
  readonly hops: Activation[];
  readonly provenance: string[];
  /** Where the walk stopped at a mounted node: the index of the first segment it routes itself. */
  readonly mountedAt?: number;
  readonly missing?: PlexusError;
}

/** Routes remembered per hub; enough for any real tree, bounded against callers inventing paths. */
const ROUTE_CACHE_LIMIT = 4096;

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Resolves dot paths (`solar.earth.luna.info`) to the node and method that run
 * them, through nested hubs at any depth, and runs a call: guard per hop, params
 * validation, then the method (or the built-in `schema`, or a mounted node's
 * `forward`). Resolved routes are cached until the owner calls `clear()`.
 */
export class Router {
  #routes = new Map<string, CachedRoute>();
  readonly #guard?: RouteGuard;
  readonly #visible?: Visibility;

  constructor(
    private readonly host: RouterHost,
    options: RouterOptions = {},
  ) {
    this.#guard = options.guard;
    this.#visible = options.visible;
  }

  /** Forgets every resolved route (the tree changed). */
  clear(): void {
    this.#routes = new Map();
  }

  /**
   * Runs the call at `path` for a CallStream's start function: returns what the
   * method returns (a value, Promise, iterable, Observable) or throws.
   */
  call(path: string, params: unknown, call: CallStart, principal?: unknown): unknown {
    if (params === undefined || params === null) params = {};
    if (typeof params !== 'object' || Array.isArray(params)) {
      throw PlexusError.invalidParams(`params must be an object, got ${Array.isArray(params) ? 'an array' : typeof params}`);
    }
    const cached = this.#routes.get(path);
    if (cached) return this.#guarded(cached, params as Record<string, unknown>, call, principal);
    const routed = this.resolve(path);
    return isPromiseLike(routed)
      ? routed.then((route) => this.#guarded(this.#remember(path, route), params as Record<string, unknown>, call, principal))
      : this.#guarded(this.#remember(path, routed), params as Record<string, unknown>, call, principal);
  }

  /** Resolves a method path; a Promise only when a node on the way still has to load its schema. */
  resolve(path: string): Route | Promise<Route> {
    const segments = path.split('.');
    if (segments.length < 2) throw PlexusError.invalidParams(`Invalid method format: ${path}`);
    if (segments[0] === this.host.namespace) segments.shift();
    const method = segments[segments.length - 1]!;
    const found = this.walk(segments, segments.length - 1);
    const route = (w: Walk): Route => {
      const node = w.hops[w.hops.length - 1]!;
      if (w.mountedAt !== undefined) {
        const rest = segments.slice(w.mountedAt);
        return { hops: w.hops, node, provenance: w.provenance, method: rest[0]!, path: segments.join('.'), rest: rest.join('.') };
      }
      return {
        hops: w.hops,
        node,
        provenance: w.provenance,
        method,
        path: w.provenance.length > 0 ? `${w.provenance.join('.')}.${method}` : `${this.host.namespace}.${method}`,
        ...(w.missing ? { missing: w.missing } : {}),
      };
    };
    return found instanceof Promise ? found.then(route) : route(found);
  }

  /**
   * Follows `segments[0..depth)` down from the root. Stops early at a mounted node
   * (it routes the rest) or where a segment leads nowhere (`missing`).
   */
  walk(segments: readonly string[], depth: number): Walk | Promise<Walk> {
    const root = this.host.root;
    let node: Activation = root;
    const hops: Activation[] = [root];
    for (let i = 0; i < depth; i++) {
      const seg = segments[i]!;
      const next: Activation | undefined = node === root ? this.host.child(seg) : node.children?.().find((c) => c.namespace === seg);
      if (!next) return { hops, provenance: segments.slice(0, i), missing: PlexusError.activationNotFound(seg) };
      node = next;
      hops.push(node);
      if (typeof node.forward === 'function') return { hops, provenance: segments.slice(0, i + 1), mountedAt: i + 1 };
      // A child added below a decorated hub since the last ready(): load it now.
      if (node instanceof DecoratedActivation && !node.prepared) {
        const rest = node.prepare().then(() => this.walk(segments, depth));
        return rest;
      }
    }
    return { hops, provenance: segments.slice(0, depth) };
  }

  /** The schema of one method of a route's node, as `principal` may see it. */
  methodSchema(route: Route, principal?: unknown): MethodSchema {
    if (route.missing) throw route.missing;
    const info = route.node.methods().find((m) => m.name === route.method);
    if (!info || !this.host.visible(principal, route.node, route.provenance, info)) throw PlexusError.methodNotFound(route.path);
    return methodSchema(info);
  }

  /**
   * The method a path resolved to, if it is in the route cache (for the audit record
   * and the revocation watch); below a mount, the method as the mount describes it
   * now, so a `:ttl` grant for it is checked by its own path and verbs.
   */
  cachedMethod(path: string): MethodInfo | undefined {
    const entry = this.#routes.get(path);
    if (entry?.route.rest === undefined) return entry?.info;
    return mountedHops(entry.route).info;
  }

  #remember(path: string, route: Route): CachedRoute {
    const provenance = route.provenance.length > 0 ? route.provenance : [this.host.namespace];
    const entry: CachedRoute = {
      route,
      info:
        route.missing || route.rest !== undefined || route.method === 'schema'
          ? undefined
          : route.node.methods().find((m) => m.name === route.method),
      items: this.host.items(provenance, route.path),
      turns: route.provenance.length > 0 && !route.hops.some((hop) => hop.legacyWire === true),
      prefixes: [],
    };
    // Only real methods are remembered, so unknown paths cannot fill the cache.
    const real = entry.info || (!route.missing && (route.method === 'schema' || route.rest !== undefined));
    if (real && this.#routes.size < ROUTE_CACHE_LIMIT) this.#routes.set(path, entry);
    return entry;
  }

  /**
   * Asks the policy's visibility about every hop and the method (when it has one),
   * then the guard about every hop the principal may see (when there is a guard),
   * then runs the call. A hidden hop or method is treated as absent: the guard sees
   * what it would see for a missing path, and the call fails at the same point with
   * the same item as a missing one (a `NotVisible`, so the audit knows it was a denial).
   */
  #guarded(entry: CachedRoute, params: Record<string, unknown>, call: CallStart, principal: unknown): unknown {
    const guard = this.#guard;
    const visible = this.#visible;
    if (!guard && !visible) return this.#invoke(entry, params, call, principal);
    const { route } = entry;
    // What the call turns out to be for this principal; a plain object and methods, not
    // closures per call (they are the most of what a guarded call costs beyond the method).
    const plan: GuardPlan = {
      entry,
      params,
      call,
      principal,
      info: entry.info,
      hops: route.hops,
      at: route.provenance,
      prefixes: entry.prefixes,
      missing: route.missing,
      absentMethod: undefined,
      described: undefined,
      hashesOf: undefined,
      routedCall: false,
      last: 0,
    };
    if (route.rest !== undefined) {
      // A mounted node that describes the tree below it (a remote's, never trusted for
      // policy, only for names): the guard checks every hop of the full path and the
      // method itself, as for a local one, and a path the description does not know is
      // refused here. A mount that describes nothing is guarded down to itself.
      const below = mountedHops(route);
      plan.hops = [...route.hops, ...below.hops];
      plan.at = [...route.provenance, ...route.rest.split('.').slice(0, below.hops.length)];
      plan.prefixes = undefined;
      const info = (plan.info = below.info);
      const describes = route.node.methods().length > 0 || (route.node.children?.().length ?? 0) > 0;
      const owner = plan.hops[plan.hops.length - 1]!;
      // The remote's root is a hub whatever else it describes (every root routes `call`).
      const hub = below.hops.length === 0 || isHub(owner);
      if (below.unknown && describes) plan.missing = below.unknown;
      else if (describes && visible && below.schema) plan.described = owner;
      // A mounted hub's own `hashes` lists its children: answered here too, filtered.
      else if (visible && info?.name === 'hashes' && hub) plan.hashesOf = owner;
      // A mounted hub's `call` would run its inner path with the mount's credential:
      // routed here instead, as `<mount>.<inner path>`, under this hub's rules.
      else if (info?.name === 'call' && hub) plan.routedCall = true;
    }
    if (visible) {
      const hidden = firstHidden(plan, principal, visible);
      if (hidden < plan.hops.length) {
        // As if the activation were not there: the walk (or the description) would stop at it.
        plan.hops = plan.hops.slice(0, hidden);
        plan.missing = new NotVisible(PlexusError.activationNotFound(plan.at[hidden - 1]!));
        plan.info = undefined;
        plan.described = undefined;
        plan.hashesOf = undefined;
        plan.routedCall = false;
      } else if (!plan.missing && plan.info && !visible(principal, plan.hops[plan.hops.length - 1]!, plan.at, plan.info)) {
        // As if the method were not there: below a mount that is refused before the
        // route's items are used, on a local node after (see `#invoke`).
        const notFound = new NotVisible(PlexusError.methodNotFound(route.path));
        if (route.rest !== undefined) plan.missing = notFound;
        else plan.absentMethod = notFound;
        plan.info = undefined;
        plan.hashesOf = undefined;
        plan.routedCall = false;
      }
    }
    plan.last = plan.missing ? -1 : plan.hops.length - 1;
    return guard ? this.#step(plan, guard, 0) : this.#run(plan);
  }

  /** Asks the guard about the hops from `from` on (an async verdict is awaited before the next), then runs the call. */
  #step(plan: GuardPlan, guard: RouteGuard, from: number): unknown {
    const { hops, last, principal } = plan;
    const path = plan.entry.route.path;
    for (let i = from; i < hops.length; i++) {
      const at = prefix(plan, i);
      // The same shape as ever: `method` only on the final hop of a method call, `params` and `call` on the final hop.
      const check: AccessCheck =
        i !== last
          ? { principal, node: hops[i]!, at, path, final: false }
          : plan.info
            ? { principal, node: hops[i]!, at, path, final: true, method: plan.info, params: plan.params, call: plan.call }
            : { principal, node: hops[i]!, at, path, final: true, params: plan.params, call: plan.call };
      const verdict = guard(check);
      if (isPromiseLike(verdict)) return Promise.resolve(verdict).then(() => this.#step(plan, guard, i + 1));
    }
    return this.#run(plan);
  }

  /** Runs a guarded call as its plan says. */
  #run(plan: GuardPlan): unknown {
    const { entry, params, call, principal, info } = plan;
    if (plan.missing) throw plan.missing;
    if (plan.described) return this.#describedSchema(entry, plan.described, plan.at, params, call, principal);
    if (plan.hashesOf) {
      call.use(entry.items);
      const problem = paramsProblem(info?.params, params);
      if (problem) throw PlexusError.invalidParams(problem);
      return this.host.hashes(plan.hashesOf, plan.at, principal);
    }
    if (plan.routedCall) {
      call.use(entry.items);
      return this.#routedCall(plan.at, params, call, principal);
    }
    const absentMethod = plan.absentMethod;
    return this.#invoke(absentMethod ? { ...entry, info: undefined } : entry, params, call, principal, absentMethod);
  }

  /**
   * `<hub>.call {method, params}` for a hub below the root (`at`), local or mounted:
   * the inner path, relative to that hub (its own name may prefix it), is called
   * through this hub as `<at>.<inner path>` with the same principal, so it is seen,
   * guarded and audited exactly like a direct call; like `<root>.call`, it yields the
   * inner call's data and throws its error.
   */
  #routedCall(at: readonly string[], params: Record<string, unknown>, call: CallStart, principal: unknown): AsyncIterable<unknown> {
    const { method, params: inner = {} } = params;
    if (typeof method !== 'string') throw PlexusError.invalidParams('method must be a string (a dot path)');
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw PlexusError.invalidParams('params must be an object');
    const segments = method.split('.');
    if (segments[0] === at[at.length - 1]) segments.shift();
    return this.host.contents([...at, ...segments].join('.'), inner as Record<string, unknown>, call.signal, principal);
  }

  /**
   * `<path below a mount>.schema` when a visibility policy applies: answered from the
   * mount's description, cut down to what the principal may see, exactly as a local
   * node's schema is. Relaying it would hand over the remote's answer to the mount's
   * own credential, unfiltered.
   */
  #describedSchema(
    { route, items }: CachedRoute,
    node: Activation,
    at: readonly string[],
    params: Record<string, unknown>,
    call: CallStart,
    principal: unknown,
  ): unknown {
    call.use(items.below(at.slice(route.provenance.length)));
    const problem = paramsProblem(SCHEMA_PARAMS, params);
    if (problem) throw PlexusError.invalidParams(problem);
    const name = params.method as string | undefined;
    if (name === undefined) return this.host.plugin(node, at, principal);
    const path = `${route.path.slice(0, -'.schema'.length)}.${name}`;
    return this.methodSchema({ ...route, node, provenance: at, method: name, path }, principal);
  }

  #invoke(
    { route, info, items, turns }: CachedRoute,
    params: Record<string, unknown>,
    call: CallStart,
    principal: unknown,
    absentMethod?: PlexusError,
  ): unknown {
    // Before `use`: a path that leads nowhere is answered by the root, as it always was.
    if (route.missing) throw route.missing;
    call.use(items);
    // A mounted node answers for its own methods, so its calls may ask.
    if (route.rest !== undefined) return route.node.forward!(route.rest, params, context(call, route.path, principal, this.host.requests));
    if (route.method === 'schema') {
      const problem = paramsProblem(SCHEMA_PARAMS, params);
      if (problem) throw PlexusError.invalidParams(problem);
      const name = params.method as string | undefined;
      return name === undefined
        ? this.host.plugin(route.node, route.provenance, principal)
        : this.methodSchema({ ...route, method: name, path: `${route.path.slice(0, -'.schema'.length)}.${name}` }, principal);
    }
    if (!info) throw absentMethod ?? PlexusError.methodNotFound(route.path);
    // From here on a failure is the method's turn's (`plexus.invalid_params` included), as in the reference.
    if (turns) call.turn();
    const problem = paramsProblem(info.params, params);
    if (problem) throw PlexusError.invalidParams(problem);
    // A nested hub's own `call` and `hashes` answer for its tree with no idea of this
    // hub's rules: this hub answers them, as it answers `<root>.call` and `hashes`.
    if (route.provenance.length > 0 && (info.name === 'call' || info.name === 'hashes') && isHub(route.node)) {
      return info.name === 'call'
        ? this.#routedCall(route.provenance, params, call, principal)
        : this.host.hashes(route.node, route.provenance, principal);
    }
    return route.node.invoke(
      route.method,
      params,
      context(call, route.path, principal, info.bidirectional ? this.host.requests : undefined),
    );
  }
}

/**
 * The method's view of its call. A class, so the hot path allocates one object and
 * no closures; `requests` is given only to methods that may ask (bidirectional).
 */
class MethodContext implements CallContext {
  readonly #call: CallStart;
  readonly #requests?: PendingRequests;

  constructor(
    call: CallStart,
    readonly path: string,
    readonly principal: unknown,
    requests?: PendingRequests,
  ) {
    this.#call = call;
    this.#requests = requests;
  }

  get signal(): AbortSignal {
    return this.#call.signal; // lazy: made only if the method asks
  }

  request<T>(question: RequestOptions): Promise<T> {
    if (!this.#requests) {
      return Promise.reject(
        new PlexusError(
          ErrorCode.InternalError,
          `${this.path} asked its caller a question but is not declared bidirectional (@method({ bidirectional: true }))`,
        ),
      );
    }
    try {
      const { item, answer } = this.#requests.ask<T>(question, this.#call.signal, this.#call.wire, this.principal);
      this.#call.ask(item);
      return answer;
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/**
 * The nodes a mounted node describes along the rest of a route, and the method at
 * its end; `unknown` is the "not found" for a path the description does not know
 * (an activation by its segment, a method by its full path, as for a local one),
 * `schema` that the route asks for a described node's schema.
 */
function mountedHops(route: Route): { hops: Activation[]; info?: MethodInfo; unknown?: PlexusError; schema?: true } {
  const below = route.rest!.split('.');
  const hops: Activation[] = [];
  let node = route.node;
  for (let i = 0; i < below.length - 1; i++) {
    const next = node.children?.().find((c) => c.namespace === below[i]);
    if (!next) return { hops, unknown: PlexusError.activationNotFound(below[i]!) };
    hops.push(next);
    node = next;
  }
  const name = below[below.length - 1]!;
  if (name === 'schema') return { hops, schema: true };
  const info = node.methods().find((m) => m.name === name);
  return info ? { hops, info } : { hops, unknown: PlexusError.methodNotFound(route.path) };
}

/**
 * Is `node` a hub (a `DynamicHub`, a mounted one, or one a mount describes)? Every
 * hub has the root methods `call`, `hash` and `hashes`; a plain activation that
 * happens to have a method `call` is none.
 */
function isHub(node: Activation): boolean {
  const methods = node.methods();
  return ['call', 'hash', 'hashes'].every((name) => methods.some((m) => m.name === name));
}

/** The index of the first hop (after the root) the principal may not see; `hops.length` when it sees them all. */
function firstHidden(plan: GuardPlan, principal: unknown, visible: Visibility): number {
  const { hops } = plan;
  for (let i = 1; i < hops.length; i++) if (!visible(principal, hops[i]!, prefix(plan, i))) return i;
  return hops.length;
}

/** `plan.at.slice(0, i)`: for a route's own path, made once per route, not per call and hop. */
function prefix(plan: GuardPlan, i: number): readonly string[] {
  const prefixes = plan.prefixes;
  if (!prefixes) return plan.at.slice(0, i);
  return (prefixes[i] ??= Object.freeze(plan.at.slice(0, i)));
}

function context(call: CallStart, path: string, principal: unknown, requests?: PendingRequests): CallContext {
  return new MethodContext(call, path, principal, requests);
}
