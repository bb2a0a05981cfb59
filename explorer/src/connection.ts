import { routeQuestion } from './questions.js';
import { PlexusClient, type PluginSchema } from './wire.js';

export interface HubConnection {
  readonly client: PlexusClient;
  /** The root hub's name (from `_info`). */
  readonly root: string;
  /** The hub's WebSocket URL as shown in snippets (without any token). */
  readonly url: string;
  readonly rootSchema: PluginSchema;
}

/**
 * The page connects back to the server that served it. A `token` query param on
 * the page is passed on to the WebSocket (browsers cannot set headers on it).
 */
export function hubUrls(location: { protocol: string; host: string; search: string }): { url: string; display: string } {
  const display = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
  const token = new URLSearchParams(location.search).get('token');
  return { url: token ? `${display}/?token=${encodeURIComponent(token)}` : display, display };
}

/** Opens the client and reads the root schema; asks `_info` for the root name alongside (one round trip when it is `plexus`). */
export async function connect(location: { protocol: string; host: string; search: string }): Promise<HubConnection> {
  const { url, display } = hubUrls(location);
  let client = new PlexusClient({ url, connectAttempts: 3, onRequest: routeQuestion });
  const [info, schema] = await Promise.allSettled([client.info(), client.schema() as Promise<PluginSchema>]);
  if (info.status === 'rejected') throw info.reason;
  const root = info.value.backend;
  if (root === client.root && schema.status === 'fulfilled') return { client, root, url: display, rootSchema: schema.value };
  client.close();
  client = new PlexusClient({ url, root, connectAttempts: 3, onRequest: routeQuestion });
  return { client, root, url: display, rootSchema: (await client.schema()) as PluginSchema };
}
