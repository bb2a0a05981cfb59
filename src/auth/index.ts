/**
 * `plexus-hub/auth`: a hub's access state for the tools that manage it (the `hub token`
 * and `hub audit` commands): the data dir, tokens, grants and durations, principals,
 * `HubAuth`, and the audit log and its verifier.
 */
export { resolveDataDir } from './data-dir.js';
export {
  AUDIT_FILE,
  ENROLL_PATH,
  ENROLLMENT_REFUSED,
  HubAuth,
  hubAuthOf,
  isLoopbackHost,
  type AuthMode,
  type AuthResult,
  type EnrollResult,
  type HubAuthOptions,
} from './hub-auth.js';
export { TOKEN_FILE, TokenStore, type TokenCheck, type TokenRecord } from './token-store.js';
export { formatGrant, parseGrant, patternMatches, type Grant } from './grants.js';
export { parseDuration } from './duration.js';
export { asPrincipal, openPrincipal, trustedPrincipal, type Principal } from './principal.js';
export {
  AuditLog,
  AuditLogTamperedError,
  type AuditEvent,
  type AuditLogOptions,
  type AuditOutcome,
  type AuditRecord,
} from './audit-log.js';
export { parseAnchor, verifyAuditLog, type AuditAnchor, type AuditVerdict, type VerifyOptions } from './audit-verify.js';
export { AuditLockedError } from './audit-lock.js';
export { DEFAULT_ROTATE_BYTES } from './audit-files.js';
export { DEFAULT_SUMMARY_INTERVAL_MS } from './audit-summary.js';
export { checkSecretName, SECRETS_DIR, SecretStore, type SecretSource } from './secret-store.js';
export {
  DEFAULT_ENROLLMENT_TTL_MS,
  ENROLLMENT_CODE_BITS,
  ENROLLMENT_FILE,
  EnrollmentStore,
  enrollmentStatus,
  normalizeEnrollmentCode,
  type EnrollmentRecord,
  type EnrollmentStatus,
} from './enrollment.js';
export { AGENTS_DIR, agentCredentialFile, readAgentCredential, writeAgentCredential, type AgentCredential } from './agent-credential.js';
export {
  ApprovalBook,
  EXECUTE_NOT_APPROVED,
  MAX_APPROVAL_WINDOW_MS,
  type ApprovalEvent,
  type ApprovalOptions,
  type PendingApproval,
} from './approvals.js';
export { OWNER_FILE, OwnerCredentials, OwnerPrincipal, readOwnerFile, writeOwnerFile, type OwnerFile } from './owner.js';
export { OWNER_METHOD_PREFIX } from './owner-methods.js';
export { writeFileAtomic } from './atomic-file.js';
