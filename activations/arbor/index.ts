/** arbor: conversation trees on SQLite. The activation, and its storage for in-process use. */
export { Arbor, ARBOR_PLUGIN_ID, type ArborOptions } from './activation.js';
export { ArborStorage, DEFAULT_RETENTION, type ArborRetention, type NodeOptions, type SweepReport } from './storage.js';
export { ArborError, type ArborErrorDetails } from './errors.js';
export { renderTree, type HandleResolver, type HandleResolvers } from './render.js';
export * from './types.js';
