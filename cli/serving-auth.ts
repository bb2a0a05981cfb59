import { HubAuth, isLoopbackHost, type Principal } from '../src/auth/index.js';

/** The options of a serving command that decide its auth. */
export interface AuthOptionValues {
  readonly root: string;
  readonly audit?: boolean;
  readonly insecureNoAuth?: boolean;
}

/**
 * The hub's auth from the data dir: required when it has a token store, else open.
 * A server reachable beyond loopback refuses to run open unless told to.
 */
export function hubAuth(opts: AuthOptionValues, dataDir: string, bind?: string): HubAuth {
  const auth = new HubAuth({ hub: opts.root, dataDir, audit: opts.audit === true });
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
  if (auth.mode === 'required') return `plexus-hub: auth required: bearer tokens from ${auth.store!.file}${audit}`;
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
