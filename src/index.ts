/** plexus-hub: the public API. */
export { activation, method, type ActivationOptions, type MethodOptions } from './activation/decorators.js';
export { defineActivation, type DynamicActivationSpec, type DynamicMethod } from './activation/dynamic.js';
export { toActivation } from './activation/decorated.js';
export type { Activation, CallContext, JsonSchema, MethodInfo } from './activation/types.js';
export { DynamicHub, type CallOptions, type DynamicHubOptions } from './hub/dynamic-hub.js';
export { ErrorCode, PlexusError } from './hub/errors.js';
export type { ChildSummary, HashesReport, MethodSchema, PluginSchema } from './hub/schema.js';
export type { HashEvent } from './hub/root-methods.js';
export { foldHash, methodHash, activationHashes, canonicalJson, type ActivationHashes } from './hash/content-hash.js';
export { progress, type ProgressMark } from './stream/progress.js';
export { CallStream, collectItems } from './stream/call-stream.js';
export { isTerminal, type DataItem, type DoneItem, type ErrorItem, type ProgressItem, type StreamItem, type StreamMetadata } from './stream/items.js';
export { canonicalSchema } from './schema/normalize.js';
export { SchemaExtractionError } from './schema/type-source.js';
export { SchemaLoader } from './schema/loader.js';
