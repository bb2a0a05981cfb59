import { routeQuestion } from './questions.js';
import { PlexusClient, type PluginSchema } from './wire.js';

export interface HubConnection {
  readonly client: PlexusClient;
  /** The root hub's name (from `_info`). */
  readonly root: string;
  /** The hub's WebSocket URL as shown in snippets (without any token). */
  readonly url: string;
  readonly rootSchema: PluginSchema;
  /** Opened with an owner code (`?owner=`): an owner session, which sees and decides pending approvals. */
  readonly owner: boolean;
}

/** Where a tab keeps its owner session's next one-time code (per tab: gone when the tab closes). */
const OWNER_CODE_KEY = 'plexus-hub.owner-code';
/** A fresh code before the one held expires (codes live 10 minutes). */
const OWNER_CODE_RENEW_MS = 4 * 60_000;

/**
 * The page connects back to the server that served it. A `token` query param on
 * the page is passed on to the WebSocket (browsers cannot set headers on it); so is
 * an `owner` code (printed by `hub serve`), which makes the connection the owner's.
 * Without either, a tab that held an owner session resumes it with the code it kept.
 */
export function hubUrls(
  location: { protocol: string; host: string; search: string },
  keptOwnerCode?: string,
): { display: string; token?: string; owner: boolean } {
  const display = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
  const query = new URLSearchParams(location.search);
  const owner = query.get('owner') ?? (query.has('token') ? null : (keptOwnerCode ?? null));
  const token = owner ?? query.get('token') ?? undefined;
  return { display, ...(token ? { token } : {}), owner: owner !== null };
}

/** The owner code is spent once used: it leaves the address bar (a reload or a shared link would only fail with it). */
function forgetOwnerCode(): void {
  if (typeof history === 'undefined') return;
  const url = new URL(location.href);
  url.searchParams.delete('owner');
  history.replaceState(history.state, '', url);
}

const tabStorage = (): Storage | undefined => (typeof sessionStorage === 'undefined' ? undefined : sessionStorage);

/**
 * An owner session survives a dropped connection and a reload: each owner code works
 * once, so as soon as a connection has spent one the page asks the hub for the next
 * (`_approvals.code`), renews it before it expires, and keeps it in this tab's
 * sessionStorage. A connection attempt presents the code held at that moment.
 */
function ownerSession(first: string): { token: () => string | undefined; start(client: PlexusClient): void } {
  let held: string | undefined = first;
  let client: PlexusClient | undefined;
  let renewing = false;
  const renew = (): void => {
    if (!client || renewing) return;
    renewing = true;
    client
      .result<{ code: string }>('_approvals.code')
      .then(({ code }) => {
        held = code;
        tabStorage()?.setItem(OWNER_CODE_KEY, code);
      })
      .catch(() => {}) // offline: the next connection's renewal tries again
      .finally(() => (renewing = false));
  };
  return {
    token: () => {
      // This attempt spends the held code (if it gets in): ask for the next once it is open.
      queueMicrotask(renew);
      return held;
    },
    start(c) {
      client = c;
      tabStorage()?.removeItem(OWNER_CODE_KEY);
      setInterval(renew, OWNER_CODE_RENEW_MS);
    },
  };
}

/** Opens the client, learns the root name (`_info`) and reads the root schema. */
export async function connect(location: { protocol: string; host: string; search: string }): Promise<HubConnection> {
  const { display, token, owner } = hubUrls(location, tabStorage()?.getItem(OWNER_CODE_KEY) ?? undefined);
  const session = owner && token ? ownerSession(token) : undefined;
  const client = new PlexusClient({ url: display, token: session?.token ?? token, connectAttempts: 3, onRequest: routeQuestion });
  session?.start(client);
  const root = await client.rootName();
  if (owner) forgetOwnerCode();
  return { client, root, url: display, rootSchema: (await client.schema()) as PluginSchema, owner };
}
