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
  /** Per method path: 0 hidden, 1 callable, 2 callable through a one-time grant check. */
  readonly methods: Map<string, 0 | 1 | 2>;
  /** Why calls are refused with -32001 (null: authenticated); computed once per memo. */
  unauthenticated?: string | null;
  /** Whether the principal holds one-time grants (then calls must go through `use`). */
  oneTime?: boolean;
}

/** Method decisions kept per principal; paths come from resolved routes, so this bounds nothing a caller invents. */
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

  methodVisible(p: unknown, at: readonly string[], info: MethodInfo): boolean {
    if (!restricted(p)) return true;
    if (p.unauthenticated()) return false;
    if (at.length === 0 && ROOT_PUBLIC.has(info.name)) return true;
    return p.allows(this.methodPath(at, info.name), info.verbs ?? DEFAULT_VERBS);
  }

  /** Is the activation at `at` visible: reachable by a grant, with a visible method or child below? */
  nodeVisible(p: unknown, node: Activation, at: readonly string[]): boolean {
    if (!restricted(p)) return true;
    if (p.unauthenticated()) return false;
    if (at.length === 0) return true;
    const memo = this.#memo(p);
    const known = memo.nodes.get(node);
    if (known !== undefined) return known;
    let visible = p.reaches(at.join('.'));
    if (visible) {
      visible =
        node.methods().some((m) => this.methodVisible(p, at, m)) ||
        (node.children?.() ?? []).some((c) => this.nodeVisible(p, c, [...at, c.namespace]));
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
   * The router's guard, once per hop: refuses an unauthenticated caller (-32001)
   * at the root, a hidden activation as "Activation not found", a hidden method as
   * "Method not found", and spends a one-time grant on the final hop.
   */
  guard(check: AccessCheck): void {
    const p = check.principal;
    if (!restricted(p)) return;
    // Decisions are memoised per principal until its grants, the tree or the second change.
    const memo = this.#memo(p);
    if (check.at.length === 0) {
      const why = (memo.unauthenticated ??= p.unauthenticated() ?? null);
      if (why) throw new AccessDenied(ErrorCode.AuthenticationRequired, why);
    } else if (!this.nodeVisible(p, check.node, check.at)) {
      throw new AccessDenied(ErrorCode.MethodNotFound, `Activation not found: ${check.at[check.at.length - 1]}`);
    }
    const info = check.final ? check.method : undefined;
    if (!info) return;
    let decision = memo.methods.get(check.path);
    if (decision === undefined) {
      memo.oneTime ??= p.oneTime();
      const publicRoot = check.at.length === 0 && ROOT_PUBLIC.has(info.name);
      decision = !this.methodVisible(p, check.at, info) ? 0 : memo.oneTime && !publicRoot ? 2 : 1;
      if (memo.methods.size < METHOD_MEMO_LIMIT) memo.methods.set(check.path, decision);
    }
    if (decision === 0) throw new AccessDenied(ErrorCode.MethodNotFound, `Method not found: ${check.path}`);
    if (decision === 2 && !p.use(this.methodPath(check.at, info.name), info.verbs ?? DEFAULT_VERBS)) {
      throw new AccessDenied(ErrorCode.Forbidden, `Forbidden: the one-time grant for ${check.path} was used meanwhile`);
    }
  }
}
