import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Activation, MethodInfo } from '../activation/types.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import type { HubPolicy, JoinCredential, JoinEvent, ObservedCall, RouteGuard } from '../hub/policy.js';
import type { CallObserver } from '../stream/call-stream.js';
import { ErrorCode } from '../wire/errors.js';
import type { CallStream } from '../stream/call-stream.js';
import { AccessControl, AccessDenied } from './access.js';
import { ApprovalBook, type ApprovalOptions } from './approvals.js';
import { recordCall } from './audit-call.js';
import { AuditLog, type AuditEvent, type AuditLogOptions } from './audit-log.js';
import { EnrollmentStore } from './enrollment.js';
import { authorizeJoin, joinAuditEvent } from './join-grant.js';
import { asPrincipal, openPrincipal, TokenPrincipal, unauthenticatedPrincipal, type Principal } from './principal.js';
import { OwnerCredentials, OwnerPrincipal } from './owner.js';
import { ownerCall, type OwnerMethodHost } from './owner-methods.js';
import { FailedAuthLimiter, type FailedAuthLimiterOptions } from './rate-limit.js';
import { REVOCATION_CHECK_MS, RevocationWatch } from './revocation.js';
import { TokenStore } from './token-store.js';

export const AUDIT_FILE = 'audit.jsonl';
/** Where a hub serving HTTP takes enrollment codes (`POST`, JSON `{"code"}`). */
export const ENROLL_PATH = '/enroll';

/**
 * `open`: every connection may call everything (a loopback hub without a token
 * store, or `--insecure-no-auth`). `required`: a token decides, default deny.
 */
export type AuthMode = 'open' | 'required';

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  /** `status` is the HTTP answer: 401 for a bad credential, 429 while the address is throttled. */
  | { readonly ok: false; readonly status: 401 | 429; readonly message: string; readonly retryAfterSeconds?: number };

/** What redeeming an enrollment code gives: the agent's token, or one refusal for every bad code. */
export type EnrollResult =
  | { readonly ok: true; readonly token: string; readonly agent: string; readonly hub: string }
  /** 401 for any bad code, 429 while the address is throttled, 403 when the hub runs open (nothing to enroll for). */
  | { readonly ok: false; readonly status: 401 | 403 | 429; readonly message: string; readonly retryAfterSeconds?: number };

/** The one answer to a mistyped, unknown, spent, expired or revoked code: a guesser learns nothing from it. */
export const ENROLLMENT_REFUSED = 'Enrollment refused: the code is not valid (mistyped, expired, or already used)';

export interface HubAuthOptions {
  /** The root hub name: tokens issued for another hub are refused. */
  readonly hub: string;
  readonly dataDir: string;
  /** Default: `required` when the data dir has a token store, else `open`. */
  readonly mode?: AuthMode;
  /** Write the audit log in open mode too (it is always written in required mode). */
  readonly audit?: boolean;
  /** Rotation size, key file and refusal summaries of the audit log. */
  readonly auditLog?: AuditLogOptions;
  readonly limiter?: FailedAuthLimiterOptions;
  /** How often running calls of token holders are checked for a revoked or expired token or grant (ms; default 250). */
  readonly revocationCheckMs?: number;
  /**
   * In required mode a token holder's call that needs `execute` waits for the owner's
   * approval (deadline and caps here). `standing: true` (`--allow-standing-execute`)
   * restores the old rule: an `execute` grant runs at once.
   */
  readonly approvals?: ApprovalOptions & { readonly standing?: boolean };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * A hub's authentication state: the mode, the token store, the audit log and the
 * failed-auth limiter. Transports ask it for the principal of a connection; as the
 * hub's policy (`new DynamicHub(name, { policy: auth })`) it checks that principal
 * at every hop, filters what it sees, and audits its calls.
 */
export class HubAuth implements HubPolicy {
  readonly mode: AuthMode;
  readonly hub: string;
  readonly store?: TokenStore;
  /** Only in required mode: the enrollment codes agents redeem for their tokens. */
  readonly enrollments?: EnrollmentStore;
  readonly audit?: AuditLog;
  readonly limiter: FailedAuthLimiter;
  /**
   * The access rules (what a principal sees); they restrict only token holders and
   * unauthenticated callers. They remember decisions about one tree, so a HubAuth
   * serves one hub.
   */
  readonly access: AccessControl;
  /** Only in required mode: in open mode every principal may call everything, and the router skips the hop loop. */
  readonly guard?: RouteGuard;
  /**
   * The one visibility answer (`AccessControl.visible`), only in required mode: in
   * open mode everything is visible to everyone, and nothing asks.
   */
  readonly visible?: (principal: unknown, node: Activation, at: readonly string[], method?: MethodInfo) => boolean;
  /**
   * In required mode, or with an audit log: every call made by a principal is
   * recorded, and a token holder's running calls are watched for revocation.
   */
  readonly observeCall?: (call: ObservedCall) => CallObserver | undefined;
  /** Only in required mode: stops running calls whose token or grant was withdrawn. */
  readonly revocations?: RevocationWatch;
  /** Only in required mode: a join needs the grant `_join.<name>` (in open mode a join token decides). */
  readonly authorizeJoin?: (principal: unknown, name: string) => JoinCredential;
  /** Only with an audit log: every join attempt, admitted or refused, is recorded. */
  readonly observeJoin?: (event: JoinEvent) => void;
  /** Only in required mode without `approvals.standing`: the calls waiting for the owner's approval. */
  readonly approvals?: ApprovalBook;
  /** With `approvals`: the owner key and owner codes that make a connection the owner's. */
  readonly owner?: OwnerCredentials;

  constructor(options: HubAuthOptions) {
    this.hub = options.hub;
    const hasStore = TokenStore.existsIn(options.dataDir);
    this.mode = options.mode ?? (hasStore ? 'required' : 'open');
    if (this.mode === 'required') {
      if (!hasStore)
        throw new Error(
          `Auth is required but ${join(options.dataDir, 'tokens.json')} does not exist: create a token with \`hub token create <name> --grant …\``,
        );
      this.store = new TokenStore(options.dataDir);
      this.enrollments = new EnrollmentStore(options.dataDir, this.store);
    }
    if (this.mode === 'required' || options.audit) this.audit = new AuditLog(join(options.dataDir, AUDIT_FILE), options.auditLog);
    this.limiter = new FailedAuthLimiter(options.limiter);
    const access = (this.access = new AccessControl(this.hub));
    if (this.mode === 'required' && !options.approvals?.standing) {
      this.approvals = new ApprovalBook({ ...options.approvals, audit: (event) => void this.record(event) });
      this.owner = new OwnerCredentials();
    }
    const approvals = this.approvals;
    if (this.mode === 'required') {
      // An execute call is held for approval before its hop is checked (and a one-time grant spent).
      this.guard = approvals
        ? (check) => {
            const held = approvals.guard(check);
            return held ? held.then(() => access.guard(check)) : access.guard(check);
          }
        : (check) => access.guard(check);
      this.authorizeJoin = authorizeJoin;
      this.visible = (principal, node, at, method) => access.visible(principal, node, at, method);
    }
    const audit = this.audit;
    const revocations = (this.revocations =
      this.mode === 'required' ? new RevocationWatch(this.hub, options.revocationCheckMs ?? REVOCATION_CHECK_MS) : undefined);
    if (audit) this.observeJoin = (event) => void this.record(joinAuditEvent(event));
    if (audit || revocations) {
      this.observeCall = (call) => {
        const caller = asPrincipal(call.principal);
        if (!caller) return undefined;
        const watched = revocations !== undefined && caller instanceof TokenPrincipal ? revocations.watch(caller, call) : undefined;
        if (!audit) return watched ? () => void revocations!.unwatch(caller as TokenPrincipal, watched) : undefined;
        // One closure per call, no more: the record is made when the call ends.
        const started = performance.now();
        return (end) => {
          if (watched) revocations!.unwatch(caller as TokenPrincipal, watched);
          const id = recordCall(audit, caller, call, end, started);
          return id > 0 ? { audit_id: id } : undefined;
        };
      };
    }
  }

  /** An unauthenticated caller may not read schemas either (-32001, as for calls). */
  admit(principal: unknown): void {
    const why = asPrincipal(principal)?.unauthenticated();
    if (why) throw new AccessDenied(ErrorCode.AuthenticationRequired, why);
  }

  treeChanged(): void {
    this.access.invalidate();
  }

  /** What `_info` and the discovery document advertise. */
  mechanisms(): readonly Record<string, unknown>[] {
    if (this.mode === 'open') return [{ kind: 'anonymous' }];
    return [
      { kind: 'bearer', header: 'Authorization', query_param: 'token' },
      // An agent without a token redeems its one-time code here (docs/agents.md).
      { kind: 'enrollment', ws_method: '_enroll', http_path: ENROLL_PATH },
    ];
  }

  /**
   * The principal for a presented credential (or none). In required mode, no
   * credential gives the unauthenticated principal (it may only ask `_info`). The
   * credential is checked first, so a valid one always gets in; a wrong one counts
   * against its address and the global limit, and once either is spent further
   * failures are answered 429 rather than 401.
   */
  authenticate(credential: string | undefined, remote: string, transport: string): AuthResult {
    if (this.mode === 'open') return { ok: true, principal: openPrincipal(transport, remote) };
    if (credential === undefined) return { ok: true, principal: unauthenticatedPrincipal(transport, remote) };
    const owner = this.owner?.check(credential);
    if (owner) {
      this.record({
        event: 'auth',
        principal: 'owner',
        transport,
        remote,
        outcome: 'ok',
        reason: owner === 'key' ? 'owner key' : 'owner code',
      });
      return { ok: true, principal: new OwnerPrincipal(owner === 'key' ? 'cli' : 'explorer', transport, remote) };
    }
    const check = this.store!.check(credential, this.hub);
    if (check.ok) return { ok: true, principal: new TokenPrincipal(this.store!, check.record, transport, remote) };
    const wait = this.limiter.retryAfter(remote);
    this.limiter.fail(remote);
    if (wait > 0) {
      this.record({ event: 'auth', principal: 'unknown', transport, remote, outcome: 'throttled' });
      return {
        ok: false,
        status: 429,
        message: 'Too many failed authentications: try again later',
        retryAfterSeconds: Math.ceil(wait / 1000),
      };
    }
    this.record({ event: 'auth', principal: 'unknown', transport, remote, outcome: 'auth_failed', reason: check.reason });
    return { ok: false, status: 401, message: `Authentication failed: ${REASONS[check.reason]}` };
  }

  /**
   * Redeems an enrollment code presented from `remote`. A bad code of any kind gets the
   * same refusal, counts against the failed-auth limiter exactly as a wrong token does
   * (a valid code always gets in, as a valid token does), and is audited with its
   * reason but never the code.
   */
  redeem(code: unknown, remote: string, transport: string): EnrollResult {
    if (!this.enrollments)
      return {
        ok: false,
        status: 403,
        message:
          'Enrollment is not available: this hub runs without authentication (no token store when it started), so every client may call it without a token',
      };
    const result = typeof code === 'string' ? this.enrollments.redeem(code, this.hub) : ({ ok: false, reason: 'malformed' } as const);
    if (result.ok) {
      const agent = result.record.agent ?? result.record.name;
      this.record({
        event: 'enroll',
        principal: agent,
        token_id: result.record.id,
        transport,
        remote,
        outcome: 'redeemed',
        reason: result.enrollment.id,
      });
      return { ok: true, token: result.token, agent, hub: this.hub };
    }
    const wait = this.limiter.retryAfter(remote);
    this.limiter.fail(remote);
    if (wait > 0) {
      this.record({ event: 'enroll', principal: 'unknown', transport, remote, outcome: 'throttled' });
      return {
        ok: false,
        status: 429,
        message: 'Too many failed authentications: try again later',
        retryAfterSeconds: Math.ceil(wait / 1000),
      };
    }
    this.record({ event: 'enroll', principal: result.agent ?? 'unknown', transport, remote, outcome: 'refused', reason: result.reason });
    return { ok: false, status: 401, message: ENROLLMENT_REFUSED };
  }

  /** `Authorization: Bearer <token>`, else a `token` query parameter (for browsers, which cannot set headers on a WebSocket). */
  credentialOf(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      // A malformed header is a presented-but-wrong credential, not an absent one.
      return m ? m[1]! : '';
    }
    const q = (req.url ?? '').indexOf('?');
    if (q < 0) return undefined;
    return new URLSearchParams(req.url!.slice(q + 1)).get('token') ?? undefined;
  }

  authenticateRequest(req: IncomingMessage, transport: string): AuthResult {
    return this.authenticate(this.credentialOf(req), req.socket.remoteAddress ?? 'unknown', transport);
  }

  /** The owner's methods (`_approvals.*`) for an owner connection: the call's stream, or undefined to route `method` as usual. */
  ownerCall(host: OwnerMethodHost, principal: unknown, method: string, params: unknown): CallStream | undefined {
    return ownerCall(host, principal, this.approvals, this.owner, method, params);
  }

  record(event: AuditEvent): number {
    return this.audit?.append(event) ?? 0;
  }

  close(): void {
    this.approvals?.close();
    this.revocations?.close();
    this.audit?.close();
  }
}

/** Refusals say which rule failed, never echo the credential. */
const REASONS: Readonly<Record<string, string>> = {
  unknown: 'the token is not known to this hub',
  revoked: 'the token was revoked',
  expired: 'the token has expired',
  other_hub: 'the token was issued for another hub',
};

/**
 * The hub's `HubAuth`, when its policy is one: transports ask it who a connection is.
 * A function rather than a member, so the hub (which knows only its policy seam) needs
 * no patching to answer it.
 */
export function hubAuthOf(hub: DynamicHub): HubAuth | undefined {
  return hub.policy instanceof HubAuth ? hub.policy : undefined;
}
