import type { Activation, MethodInfo } from '../activation/types.js';
import { DEFAULT_VERBS } from '../activation/verbs.js';
import type { AccessCheck } from '../hub/policy.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import type { Principal } from './principal.js';

/**
 * A refusal that reads exactly like "not found" on the wire (a hidden path is
 * never an existence oracle); only the audit log knows it was a denial.
 */
export class AccessDenied extends PlexusError {}

/** Root methods every authenticated principal may call: `call` re-checks its inner path, `schema` is filtered, `hash` is in every item's metadata anyway. */
const ROOT_PUBLIC = new Set(['call', 'schema', 'hash']);

interface Memo {
  generation: number;
  tree: number;
  /** The second it was made in: grants and tokens can expire, so no answer is kept longer. */
  second: number;
  readonly nodes: Map<Activation, boolean>;
  /** Per node, per method: visible or not. */
  readonly methods: Map<Activation, Map<MethodInfo, boolean>>;
  /** Why calls are refused with -32001 (null: authenticated); computed once per memo. */
  unauthenticated?: string | null;
  /** Whether the principal holds one-time grants (then calls must go through `use`). */
  oneTime?: boolean;
}

/** Nodes whose method decisions are kept per principal; nodes are the tree's, so this bounds nothing a caller invents. */
const METHOD_MEMO_LIMIT = 4096;

function restricted(p: unknown): p is Principal {
  const kind = (p as Principal | undefined)?.kind;
  return kind === 'token' || kind === 'unauthenticated';
}

/**
 * The access rules, in one place: which activations and methods a principal sees
 * (and so may call). `HubAuth` answers the hub's policy with them: its guard at
 * every hop, its visibility for schemas and the MCP tool list. Default deny: an activation is visible
 * only if a grant can reach below it and something in it is visible.
 */
export class AccessControl {
  #tree = 0;
  readonly #memos = new WeakMap<Principal, Memo>();

  constructor(private readonly root: string) {}

  /** The tree changed: visibility must be recomputed. */
  invalidate(): void {
    this.#tree++;
  }

  /** The grant path of a method: `echo.echo`, `<root>.hash` for the root's own. */
  methodPath(at: readonly string[], name: string): string {
    return at.length > 0 ? `${at.join('.')}.${name}` : `${this.root}.${name}`;
  }

  /**
   * The one visibility answer (the hub's `HubPolicy.visible`): may `p` see the
   * activation `node` at `at`, or, with `method`, that method of it? The router asks
   * it at every hop of every call, the hub for schemas and `<root>.hashes`, the MCP
   * bridge for its tool list; nothing else decides what exists for a principal.
   */
  visible(p: unknown, node: Activation, at: readonly string[], method?: MethodInfo): boolean {
    if (!restricted(p)) return true;
    return method ? this.#methodVisible(p, node, at, method) : this.#nodeVisible(p, node, at);
  }

  /** A method is visible when a live grant covers its path with its verbs (the root's public ones to anyone authenticated). */
  #methodVisible(p: Principal, node: Activation, at: readonly string[], info: MethodInfo): boolean {
    if (p.unauthenticated()) return false;
    if (at.length === 0 && ROOT_PUBLIC.has(info.name)) return true;
    const memo = this.#memo(p);
    let known = memo.methods.get(node);
    const seen = known?.get(info);
    if (seen !== undefined) return seen;
    const visible = p.allows(this.methodPath(at, info.name), info.verbs ?? DEFAULT_VERBS);
    if (!known && memo.methods.size < METHOD_MEMO_LIMIT) memo.methods.set(node, (known = new Map()));
    known?.set(info, visible);
    return visible;
  }

  /** Is the activation at `at` visible: reachable by a grant, with a visible method or child below? */
  #nodeVisible(p: Principal, node: Activation, at: readonly string[]): boolean {
    if (p.unauthenticated()) return false;
    if (at.length === 0) return true;
    const memo = this.#memo(p);
    const known = memo.nodes.get(node);
    if (known !== undefined) return known;
    let visible = p.reaches(at.join('.'));
    if (visible) {
      visible =
        node.methods().some((m) => this.#methodVisible(p, node, at, m)) ||
        (node.children?.() ?? []).some((c) => this.#nodeVisible(p, c, [...at, c.namespace]));
    }
    memo.nodes.set(node, visible);
    return visible;
  }

  #memo(p: Principal): Memo {
    const generation = p.generation;
    const second = Math.floor(Date.now() / 1000);
    let memo = this.#memos.get(p);
    if (!memo || memo.generation !== generation || memo.tree !== this.#tree || memo.second !== second) {
      memo = { generation, tree: this.#tree, second, nodes: new Map(), methods: new Map() };
      this.#memos.set(p, memo);
    }
    return memo;
  }

  /**
   * The router's guard, once per hop the principal may see (the router has already
   * treated a hidden hop or method as absent, through `visible`): refuses an
   * unauthenticated caller (-32001) at the root, and spends a one-time grant on the
   * final hop of a method call.
   */
  guard(check: AccessCheck): void {
    const p = check.principal;
    if (!restricted(p)) return;
    // Decisions are memoised per principal until its grants, the tree or the second change.
    const memo = this.#memo(p);
    if (check.at.length === 0) {
      const why = (memo.unauthenticated ??= p.unauthenticated() ?? null);
      if (why) throw new AccessDenied(ErrorCode.AuthenticationRequired, why);
    }
    const info = check.final ? check.method : undefined;
    if (!info || (check.at.length === 0 && ROOT_PUBLIC.has(info.name))) return;
    if (!(memo.oneTime ??= p.oneTime())) return;
    if (!p.use(this.methodPath(check.at, info.name), info.verbs ?? DEFAULT_VERBS)) {
      throw new AccessDenied(ErrorCode.Forbidden, `Forbidden: the one-time grant for ${check.path} was used meanwhile`);
    }
  }
}
