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

/** Opens the client, learns the root name (`_info`) and reads the root schema. */
export async function connect(location: { protocol: string; host: string; search: string }): Promise<HubConnection> {
  const { url, display } = hubUrls(location);
  const client = new PlexusClient({ url, connectAttempts: 3, onRequest: routeQuestion });
  const root = await client.rootName();
  return { client, root, url: display, rootSchema: (await client.schema()) as PluginSchema };
}
