import type { JoinCredential, JoinEvent } from '../hub/policy.js';
import { ErrorCode } from '../wire/errors.js';
import { AccessDenied } from './access.js';
import type { AuditEvent } from './audit-log.js';
import { JOIN_GRANT_SEGMENT } from './grants.js';
import { asPrincipal } from './principal.js';

/**
 * The join rule of required mode: a `_join` is a privileged act (the joined hub then
 * receives every call below its name, params and all), so only an authenticated
 * principal holding the grant `_join.<name>` may join as `name`. The name is then bound
 * to that principal's token (see federation's JoinBindings).
 */
export function authorizeJoin(principal: unknown, name: string): JoinCredential {
  const p = asPrincipal(principal);
  const why = p ? p.unauthenticated() : 'Authentication required: present a token as "Authorization: Bearer <token>"';
  if (why || !p) throw new AccessDenied(ErrorCode.AuthenticationRequired, `Join refused: ${why}`);
  if (!p.mayJoin(name)) {
    throw new AccessDenied(
      ErrorCode.Forbidden,
      `Join refused: joining as "${name}" needs a token holding the grant ${JOIN_GRANT_SEGMENT}.${name} (no wildcard grants a join)`,
    );
  }
  return { id: p.tokenId ? `token:${p.tokenId}` : `${p.kind}:${p.name}`, label: p.name };
}

/** A join attempt as an audit record: the path is the grant it needs, never any params. */
export function joinAuditEvent(e: JoinEvent): AuditEvent {
  const p = asPrincipal(e.principal);
  const outcome = e.outcome !== 'refused' ? 'ok' : e.code === ErrorCode.AuthenticationRequired ? 'unauthenticated' : 'denied';
  return {
    event: 'join',
    principal: p?.name ?? 'unknown',
    ...(p?.tokenId ? { token_id: p.tokenId } : {}),
    ...(p?.transport ? { transport: p.transport } : {}),
    ...(p?.remote ? { remote: p.remote } : {}),
    path: `${JOIN_GRANT_SEGMENT}.${e.name}`.slice(0, 200),
    outcome,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.reason !== undefined ? { reason: e.reason } : { reason: e.outcome }),
  };
}
