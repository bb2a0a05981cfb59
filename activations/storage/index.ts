/** Shared SQLite plumbing of the storage activations (arbor, changelog, mustache, and those built on them). */
export {
  openDatabase,
  openDataDir,
  resolveDatabase,
  DATABASE_FILE,
  type SqliteDatabase,
  type DatabaseOption,
} from './sqlite.js';
export { migrate, type Migration } from './migrations.js';
export { systemClock, seconds, type Clock } from './clock.js';
export { newId, isUuid, uuidParam } from './uuid.js';
export { pluginId, uuidV5 } from './plugin-id.js';
export { GroupCommit, groupCommit } from './group-commit.js';
