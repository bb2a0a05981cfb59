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

/**
 * The page connects back to the server that served it. A `token` query param on
 * the page is passed on to the WebSocket (browsers cannot set headers on it); so is
 * an `owner` code (printed by `hub serve`), which makes the connection the owner's.
 */
export function hubUrls(location: { protocol: string; host: string; search: string }): { url: string; display: string; owner: boolean } {
  const display = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
  const query = new URLSearchParams(location.search);
  const owner = query.get('owner');
  const token = owner ?? query.get('token');
  return { url: token ? `${display}/?token=${encodeURIComponent(token)}` : display, display, owner: owner !== null };
}

/** The owner code is spent once used: it leaves the address bar (a reload or a shared link would only fail with it). */
function forgetOwnerCode(): void {
  if (typeof history === 'undefined') return;
  const url = new URL(location.href);
  url.searchParams.delete('owner');
  history.replaceState(history.state, '', url);
}

/** Opens the client, learns the root name (`_info`) and reads the root schema. */
export async function connect(location: { protocol: string; host: string; search: string }): Promise<HubConnection> {
  const { url, display, owner } = hubUrls(location);
  // An owner code works once: no reconnect attempts that could only be refused.
  const client = new PlexusClient({ url, connectAttempts: owner ? 1 : 3, onRequest: routeQuestion });
  const root = await client.rootName();
  if (owner) forgetOwnerCode();
  return { client, root, url: display, rootSchema: (await client.schema()) as PluginSchema, owner };
}
