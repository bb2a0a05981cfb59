import type { Command } from 'commander';
import {
  DEFAULT_ROTATE_BYTES,
  DEFAULT_SUMMARY_INTERVAL_MS,
  HubAuth,
  isLoopbackHost,
  parseDuration,
  type Principal,
} from '../src/auth/index.js';
import { positive } from './options.js';

/** The options of a serving command that decide its auth. */
export interface AuthOptionValues {
  readonly root: string;
  readonly audit?: boolean;
  readonly auditRotateBytes?: number;
  readonly auditSummaryInterval?: number;
  readonly insecureNoAuth?: boolean;
  /** `--allow-standing-execute`: an `execute` grant runs at once, without the owner's approval. */
  readonly allowStandingExecute?: boolean;
  /** `--approval-deadline`: how long an execute call waits for the owner (a duration). */
  readonly approvalDeadline?: string;
}

/** `--allow-standing-execute` and `--approval-deadline`, for the commands that serve. */
export function addApprovalOptions(cmd: Command): Command {
  return cmd
    .option(
      '--allow-standing-execute',
      "let an execute grant run at once, without the owner's approval per call (the pre-approval rule; a deliberate departure, warned at start)",
    )
    .option('--approval-deadline <duration>', "how long an execute call waits for the owner's approval before it fails (30s, 5m)", '5m');
}

/** The audit log's limits, for the commands that serve (`hub serve`, `hub mcp`). */
export function addAuditOptions(cmd: Command): Command {
  return cmd
    .option(
      '--audit-rotate-bytes <n>',
      'rotate the audit log once its file reaches this size (the chain continues in the next file)',
      positive,
      DEFAULT_ROTATE_BYTES,
    )
    .option(
      '--audit-summary-interval <seconds>',
      'record refusals of callers without a credential once per address per this interval, with a count',
      positive,
      DEFAULT_SUMMARY_INTERVAL_MS / 1000,
    );
}

/**
 * The hub's auth from the data dir: required when it has a token store, else open.
 * A server reachable beyond loopback refuses to run open unless told to.
 */
export function hubAuth(opts: AuthOptionValues, dataDir: string, bind?: string, ownerChannel = bind !== undefined): HubAuth {
  const auth = new HubAuth({
    hub: opts.root,
    dataDir,
    audit: opts.audit === true,
    auditLog: {
      ...(opts.auditRotateBytes !== undefined ? { rotateBytes: opts.auditRotateBytes } : {}),
      ...(opts.auditSummaryInterval !== undefined ? { refusals: { intervalMs: opts.auditSummaryInterval * 1000 } } : {}),
    },
    approvals: {
      standing: opts.allowStandingExecute === true,
      ownerChannel,
      ...(opts.approvalDeadline !== undefined ? { deadlineMs: parseDuration(opts.approvalDeadline) } : {}),
    },
  });
  if (auth.mode === 'open' && bind !== undefined && !isLoopbackHost(bind) && !opts.insecureNoAuth) {
    auth.close();
    throw new Error(
      `refusing to serve on ${bind} without authentication: create a token first (hub token create <name> --grant '<pattern>:read' --data-dir ${dataDir}), or pass --insecure-no-auth to serve every method to anyone who can reach the port`,
    );
  }
  // Flush the audit log and its head on any exit.
  process.once('exit', () => auth.close());
  return auth;
}

/** The line a network server logs about its auth. */
export function authLine(auth: HubAuth, bind: string | undefined): string {
  const audit = auth.audit ? `; audit log ${auth.audit.file}` : '';
  if (auth.mode === 'required') {
    const execute = !auth.approvals
      ? '; WARNING: --allow-standing-execute: execute grants run without approval'
      : auth.approvals.ownerChannel
        ? "; execute calls wait for the owner's approval (hub approvals)"
        : '; execute calls of tokens are refused (no owner channel to approve them; --allow-standing-execute)';
    return `plexus-hub: auth required: bearer tokens from ${auth.store!.file}${audit}${execute}`;
  }
  const where = bind === undefined ? 'stdio' : isLoopbackHost(bind) ? `loopback ${bind}` : `${bind} (--insecure-no-auth)`;
  return `plexus-hub: auth open (${where}, no token store): every client may call every method${audit}`;
}

/** `--token` (or $PLEXUS_HUB_TOKEN) for stdio transports: that principal instead of the trusted parent. */
export function stdioPrincipal(auth: HubAuth, token: string | undefined, transport: string): Principal | undefined {
  if (token === undefined) return undefined;
  if (auth.mode !== 'required') throw new Error('--token needs a token store in the data dir (hub token create …)');
  const result = auth.authenticate(token, transport, transport);
  if (!result.ok) throw new Error(result.message);
  return result.principal;
}
