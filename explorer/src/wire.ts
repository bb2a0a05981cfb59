// The one place the page reaches into the framework: its browser-capable client and the wire types.
export { PlexusClient, PlexusConnectionError, PlexusRpcError } from '../../src/client/plexus-client.js';
export type { ChildSummary, JsonSchema, MethodSchema, PluginSchema } from '../../src/schema/wire-types.js';
export type { DataItem, ErrorItem, ProgressItem, StreamItem } from '../../src/stream/items.js';
