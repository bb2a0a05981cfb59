/** changelog: root-hash change tracking, documented hashes and a planned-change queue, on SQLite. */
export { Changelog, type ChangelogOptions } from './activation.js';
export { ChangelogStorage, type NewEntry, type StartupResult } from './storage.js';
export { ChangelogError } from './errors.js';
export { changedPaths, hashSnapshot } from './hash-tree.js';
export * from './types.js';
