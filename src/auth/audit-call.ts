import { DEFAULT_VERBS, type Verb } from '../activation/verbs.js';
import { NotVisible, type ObservedCall } from '../hub/policy.js';
import type { CallEnd } from '../stream/call-stream.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import { AccessDenied } from './access.js';
import { canonicalJson, type AuditLog, type AuditOutcome } from './audit-log.js';
import { SUMMARISED_OUTCOMES } from './audit-summary.js';
import type { Principal } from './principal.js';
import { redact } from './redact.js';

function outcomeOf(end: CallEnd): { outcome: AuditOutcome; code?: number | string } {
  if (end.cancelled) return { outcome: 'cancelled' };
  const err = end.error;
  if (err === undefined) return { outcome: 'ok' };
  const code = err instanceof PlexusError ? err.code : ErrorCode.ExecutionError;
  // A hidden path reads as "not found" on the wire; here it is what it was, a denial.
  if (err instanceof NotVisible) return { outcome: 'denied', code };
  if (err instanceof AccessDenied) return { outcome: code === ErrorCode.AuthenticationRequired ? 'unauthenticated' : 'denied', code };
  return { outcome: 'error', code };
}

/** The members of a call's record that stay the same for one caller and path, as canonical text. */
interface CallParts {
  readonly principal: Principal;
  readonly name: string;
  readonly tokenId: string | undefined;
  readonly transport: string | undefined;
  readonly remote: string | undefined;
  readonly verbs: readonly Verb[] | undefined;
  /** `"path":…,"principal":…,"remote":…,` (the members between `params` and `seq`). */
  readonly before: string;
  /** `,"token_id":…,"transport":…,"verbs":[…]` (the members after `time`). */
  readonly after: string;
}

/** Parts per principal, per path; bounded per principal against invented paths. */
const partsByPrincipal = new WeakMap<Principal, Map<string, CallParts>>();
const PARTS_PER_PRINCIPAL = 1024;

const member = (key: string, value: unknown): string => (value === undefined ? '' : `"${key}":${JSON.stringify(value)}`);

/** The constant parts of a record of `principal` calling `path` (a method with `verbs`), made once and remembered. */
function callParts(principal: Principal, path: string, verbs: readonly Verb[] | undefined): CallParts {
  let byPath = partsByPrincipal.get(principal);
  const known = byPath?.get(path);
  // Checked against what they were made from, so a principal whose fields change is never misrecorded.
  if (
    known &&
    known.verbs === verbs &&
    known.name === principal.name &&
    known.tokenId === principal.tokenId &&
    known.transport === principal.transport &&
    known.remote === principal.remote
  ) {
    return known;
  }
  const { name, tokenId, transport, remote } = principal;
  const parts: CallParts = {
    principal,
    name,
    tokenId,
    transport,
    remote,
    verbs,
    before: [member('path', path), member('principal', name), member('remote', remote)]
      .filter(Boolean)
      .map((m) => `${m},`)
      .join(''),
    after: [member('token_id', tokenId), member('transport', transport), member('verbs', verbs)]
      .filter(Boolean)
      .map((m) => `,${m}`)
      .join(''),
  };
  if (!byPath) partsByPrincipal.set(principal, (byPath = new Map()));
  if (byPath.size < PARTS_PER_PRINCIPAL || byPath.has(path)) byPath.set(path, parts);
  return parts;
}

/**
 * The audit record of one call that ended (outcome, duration, item count, error code,
 * redacted params), appended to `audit`; returns its id (0 when none), which the
 * caller puts into the `done` item's metadata as `audit_id`. A caller without a
 * credential gets no record of its own: its refusals are summarised per address
 * (audit-summary.ts), and its params are never looked at.
 *
 * The record is written as canonical text directly: the members constant per caller
 * and path are made once (`callParts`), the rest per call — the same bytes
 * `AuditLog.append` would write for the same event.
 */
export function recordCall(audit: AuditLog, principal: Principal, call: ObservedCall, end: CallEnd, started: number): number {
  const { outcome, code } = outcomeOf(end);
  if (principal.kind === 'unauthenticated' || SUMMARISED_OUTCOMES.has(outcome)) {
    audit.append({
      event: 'call',
      principal: principal.name,
      token_id: principal.tokenId,
      transport: principal.transport,
      remote: principal.remote,
      path: call.path,
      outcome: 'unauthenticated',
      code: ErrorCode.AuthenticationRequired,
    });
    return 0;
  }
  const method = call.method();
  const parts = callParts(principal, call.path, method ? (method.verbs ?? DEFAULT_VERBS) : undefined);
  const duration = Math.round((performance.now() - started) * 1000) / 1000;
  const raw = call.params ?? {};
  const redacted = redact(raw);
  // redact() hands back the params themselves only when they are flat, clean, finite and
  // sorted: JSON.stringify of those is already their canonical form.
  const params = redacted === raw ? JSON.stringify(raw) : canonicalJson(redacted);
  return audit.appendCanonical(
    `${code === undefined ? '' : `"code":${JSON.stringify(code)},`}"duration_ms":${duration},"event":"call","items":${end.items},"outcome":"${outcome}",${params === undefined ? '' : `"params":${params},`}${parts.before}`,
    parts.after,
  );
}
