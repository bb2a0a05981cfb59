import { DEFAULT_VERBS } from '../activation/verbs.js';
import { NotVisible, type ObservedCall } from '../hub/policy.js';
import type { CallEnd, CallObserver } from '../stream/call-stream.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import { AccessDenied } from './access.js';
import type { AuditLog, AuditOutcome } from './audit-log.js';
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

/**
 * Records one call in the audit log when it ends (outcome, duration, item count,
 * error code, redacted params) and puts the record's id into the `done` item's
 * metadata as `audit_id`. A caller without a credential gets no record of its own:
 * its refusals are summarised per address (audit-summary.ts), and its params are
 * never looked at.
 */
export function auditCall(audit: AuditLog, principal: Principal, call: ObservedCall): CallObserver {
  const started = performance.now();
  return (end) => {
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
      return undefined;
    }
    const method = call.method();
    const id = audit.append({
      event: 'call',
      principal: principal.name,
      token_id: principal.tokenId,
      transport: principal.transport,
      remote: principal.remote,
      path: call.path,
      verbs: method ? (method.verbs ?? DEFAULT_VERBS) : undefined,
      outcome,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      items: end.items,
      code,
      params: redact(call.params ?? {}),
    });
    return id > 0 ? { audit_id: id } : undefined;
  };
}
