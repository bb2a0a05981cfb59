import { randomBytes } from 'node:crypto';
import { DEFAULT_VERBS } from '../activation/verbs.js';
import { canonicalJson } from '../hash/content-hash.js';
import type { AccessCheck, GuardedCall } from '../hub/policy.js';
import { PlexusError } from '../wire/errors.js';
import type { AuditEvent } from './audit-log.js';
import { TokenPrincipal } from './principal.js';
import { redact } from './redact.js';

/** The error code of an execute call the owner did not approve (denied, deadline passed, too many pending). */
export const EXECUTE_NOT_APPROVED = 'execute_not_approved';

/** How long a pending call waits for the owner by default. */
export const DEFAULT_APPROVAL_DEADLINE_MS = 5 * 60_000;
/** Pending approvals the hub holds at most, all principals together. */
export const DEFAULT_MAX_PENDING = 64;
/** Pending approvals one token holds at most. */
export const DEFAULT_MAX_PENDING_PER_PRINCIPAL = 4;
/** The longest window an approval may cover identical calls for. */
export const MAX_APPROVAL_WINDOW_MS = 60 * 60_000;
/** Windows remembered at most (each one the owner granted; old ones are dropped first). */
const MAX_WINDOWS = 256;

export interface ApprovalOptions {
  /** How long a call waits for a decision before it fails with `execute_not_approved` (ms). */
  readonly deadlineMs?: number;
  readonly maxPending?: number;
  readonly maxPendingPerPrincipal?: number;
  /** Where every request, decision, withdrawal and expiry is recorded. */
  readonly audit?: (event: AuditEvent) => void;
  /**
   * False when nobody can reach the owner's methods (a hub on stdio, `hub mcp`): an
   * execute call is then refused at once instead of waiting for a decision that
   * cannot come. Default true.
   */
  readonly ownerChannel?: boolean;
}

/** A held call as the owner sees it. */
export interface PendingApproval {
  readonly id: string;
  /** The called path, as called (`bash.execute`, `far.bash.execute`). */
  readonly path: string;
  readonly principal: { readonly name: string; readonly token_id: string; readonly transport?: string; readonly remote?: string };
  /** Redacted (secrets removed, long strings cut); for `bash.execute` the command itself. */
  readonly params: unknown;
  /** Unix ms. */
  readonly created: number;
  readonly deadline: number;
}

export type ApprovalOutcome = 'approved' | 'denied' | 'withdrawn' | 'expired';

/** What an owner watching the approvals is told. */
export type ApprovalEvent =
  | { readonly type: 'pending'; readonly approval: PendingApproval }
  | { readonly type: 'resolved'; readonly id: string; readonly outcome: ApprovalOutcome; readonly window_ms?: number };

/** The owner's answer to one pending call. */
export interface ApprovalDecision {
  readonly approve: boolean;
  /** Also let identical calls (same token, path and params) through for this long (ms, ≤ MAX_APPROVAL_WINDOW_MS). */
  readonly windowMs?: number;
  /** Who decided (`cli`, `explorer`), for the audit log. */
  readonly by?: string;
  readonly reason?: string;
}

interface Held {
  readonly approval: PendingApproval;
  /** Same token, path and canonical params: what a window approval covers. */
  readonly key: string;
  readonly settle: (outcome: ApprovalOutcome, detail?: { windowMs?: number; by?: string; reason?: string }) => void;
}

/** Does this hop run a method that needs `execute`, called by a token holder? */
function needsApproval(check: AccessCheck): check is AccessCheck & { call: GuardedCall; principal: TokenPrincipal } {
  if (!check.final || !check.method || !check.call) return false;
  if (!(check.principal instanceof TokenPrincipal)) return false;
  return (check.method.verbs ?? DEFAULT_VERBS).includes('execute');
}

/**
 * Execute is never standing: a token holder's call to a method that needs `execute`
 * (its grant only says it *may ask*) is held here until the hub's owner approves or
 * denies it, or its deadline passes. The caller reads a `progress` item while it
 * waits; a cancelled or withdrawn call (its token revoked: the revocation watch
 * aborts it) leaves the book at once. An approval covers that one call, or, when the
 * owner gives a window, identical calls of the same token for that long — never a
 * path. Bounded: a token may hold a few pending calls, the hub a few dozen; past
 * either the call is refused at once.
 */
export class ApprovalBook {
  readonly #pending = new Map<string, Held>();
  /** Window approvals: key → until (Unix ms). */
  readonly #windows = new Map<string, number>();
  readonly #listeners = new Set<(event: ApprovalEvent) => void>();
  readonly deadlineMs: number;
  readonly #maxPending: number;
  readonly #maxPerPrincipal: number;
  readonly #audit: (event: AuditEvent) => void;
  readonly ownerChannel: boolean;

  constructor(options: ApprovalOptions = {}) {
    this.deadlineMs = options.deadlineMs ?? DEFAULT_APPROVAL_DEADLINE_MS;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.#maxPerPrincipal = options.maxPendingPerPrincipal ?? DEFAULT_MAX_PENDING_PER_PRINCIPAL;
    this.#audit = options.audit ?? (() => {});
    this.ownerChannel = options.ownerChannel ?? true;
  }

  /** The guard's part: a Promise that settles when the call may run (or rejects), undefined when it needs no approval. */
  guard(check: AccessCheck): Promise<void> | undefined {
    if (!needsApproval(check)) return undefined;
    return this.hold(check.principal, check.path, check.params ?? {}, check.call);
  }

  /** Holds one call until the owner decides; resolves when approved. */
  hold(principal: TokenPrincipal, path: string, params: unknown, call: GuardedCall): Promise<void> {
    const key = `${principal.tokenId}\u0000${path}\u0000${canonicalJson(params)}`;
    const now = Date.now();
    const base = {
      principal: principal.name,
      token_id: principal.tokenId,
      transport: principal.transport,
      remote: principal.remote,
      path,
    };
    const until = this.#windows.get(key);
    if (until !== undefined) {
      if (now < until) {
        this.#audit({ event: 'approval', ...base, outcome: 'approved', reason: 'within an approval window' });
        return Promise.resolve();
      }
      this.#windows.delete(key);
    }
    if (!this.ownerChannel) {
      this.#audit({ event: 'approval', ...base, outcome: 'refused', reason: 'no owner channel' });
      return Promise.reject(
        new PlexusError(
          EXECUTE_NOT_APPROVED,
          `Execute not approved: ${path} needs the owner's approval per call, and this hub (on stdio) has no way to ask: serve it over WebSocket (hub serve) to approve calls with \`hub approvals\`, or start it with --allow-standing-execute`,
          false,
          { reason: 'no_owner_channel' },
        ),
      );
    }
    const mine = [...this.#pending.values()].filter((h) => h.approval.principal.token_id === principal.tokenId).length;
    if (mine >= this.#maxPerPrincipal || this.#pending.size >= this.#maxPending) {
      const which = mine >= this.#maxPerPrincipal ? `this token already has ${mine}` : `the hub already holds ${this.#pending.size}`;
      this.#audit({ event: 'approval', ...base, outcome: 'refused', reason: 'too many pending approvals' });
      return Promise.reject(
        new PlexusError(
          EXECUTE_NOT_APPROVED,
          `Execute not approved: too many calls are waiting for approval (${which}); wait for the owner to decide or cancel one`,
          true,
          { reason: 'too_many_pending' },
        ),
      );
    }
    const id = `apr_${randomBytes(6).toString('hex')}`;
    const approval: PendingApproval = {
      id,
      path,
      principal: {
        name: principal.name,
        token_id: principal.tokenId,
        ...(principal.transport ? { transport: principal.transport } : {}),
        ...(principal.remote ? { remote: principal.remote } : {}),
      },
      params: redact(params),
      created: now,
      deadline: now + this.deadlineMs,
    };
    return new Promise<void>((resolve, reject) => {
      const signal = call.signal;
      const settle: Held['settle'] = (outcome, detail = {}) => {
        if (!this.#pending.delete(id)) return;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#audit({
          event: 'approval',
          ...base,
          outcome,
          approval_id: id,
          ...(detail.windowMs ? { window_ms: detail.windowMs } : {}),
          ...(detail.by ? { decided_by: detail.by } : {}),
          ...(detail.reason ? { reason: detail.reason } : {}),
        });
        this.#emit({ type: 'resolved', id, outcome, ...(detail.windowMs ? { window_ms: detail.windowMs } : {}) });
        if (outcome === 'approved') {
          if (detail.windowMs) this.#remember(key, Date.now() + detail.windowMs);
          return resolve();
        }
        if (outcome === 'withdrawn')
          return reject(signal.reason ?? new PlexusError(EXECUTE_NOT_APPROVED, 'Execute not approved: the call was withdrawn'));
        const why =
          outcome === 'denied'
            ? `the hub's owner denied it${detail.reason ? ` (${detail.reason})` : ''}`
            : `no decision within ${Math.round(this.deadlineMs / 1000)} s`;
        reject(
          new PlexusError(EXECUTE_NOT_APPROVED, `Execute not approved: ${path} (${id}): ${why}`, false, {
            approval_id: id,
            reason: outcome,
          }),
        );
      };
      const onAbort = (): void => settle('withdrawn');
      const timer = setTimeout(() => settle('expired'), this.deadlineMs);
      this.#pending.set(id, { approval, key, settle });
      if (signal.aborted) return settle('withdrawn');
      signal.addEventListener('abort', onAbort, { once: true });
      this.#audit({ event: 'approval', ...base, outcome: 'requested', approval_id: id, params: approval.params });
      call.progress(
        `waiting for approval ${id}: the hub's owner approves or denies this call (deadline in ${Math.round(this.deadlineMs / 1000)} s)`,
      );
      this.#emit({ type: 'pending', approval });
    });
  }

  /** The calls waiting now, oldest first. */
  list(): PendingApproval[] {
    return [...this.#pending.values()].map((h) => h.approval);
  }

  get size(): number {
    return this.#pending.size;
  }

  /** The owner's decision on `id`; throws a PlexusError when no such call waits. */
  decide(id: string, decision: ApprovalDecision): PendingApproval {
    const held = this.#pending.get(id);
    if (!held)
      throw new PlexusError('approval_not_found', `No pending approval ${id}: it was decided, withdrawn or has expired`, false, {
        approval_id: id,
      });
    const windowMs = decision.approve ? decision.windowMs : undefined;
    if (windowMs !== undefined && (!Number.isFinite(windowMs) || windowMs <= 0 || windowMs > MAX_APPROVAL_WINDOW_MS)) {
      throw new PlexusError('invalid_window', `An approval window is more than 0 and at most ${MAX_APPROVAL_WINDOW_MS / 60_000} minutes`);
    }
    held.settle(decision.approve ? 'approved' : 'denied', {
      ...(windowMs ? { windowMs } : {}),
      ...(decision.by ? { by: decision.by } : {}),
      ...(decision.reason ? { reason: decision.reason } : {}),
    });
    return held.approval;
  }

  /** Tells `listener` about every new pending call and every end of one; returns the unsubscribe. */
  subscribe(listener: (event: ApprovalEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Withdraws every pending call (the hub stops). */
  close(): void {
    for (const held of [...this.#pending.values()]) held.settle('withdrawn', { reason: 'the hub is stopping' });
    this.#windows.clear();
  }

  #remember(key: string, until: number): void {
    this.#windows.delete(key);
    this.#windows.set(key, until);
    if (this.#windows.size > MAX_WINDOWS) this.#windows.delete(this.#windows.keys().next().value!);
  }

  #emit(event: ApprovalEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        /* a watcher's failure is not the call's */
      }
    }
  }
}
