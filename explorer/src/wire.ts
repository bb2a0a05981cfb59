// The one place the page reaches into the framework: its browser-capable client and the wire types.
export { CANCELLED, PlexusClient, PlexusConnectionError, type ClientRequest } from '../../src/client/plexus-client.js';
export type {
  ChildSummary,
  DataItem,
  ErrorItem,
  JsonSchema,
  MethodSchema,
  PluginSchema,
  ProgressItem,
  StreamItem,
} from '../../src/wire/index.js';
