/** `hub import substrate <dir>`: the reference's SQLite files (arbor, cone, claudecode, changelog, mustache) into hub.db. */
export {
  importSubstrate,
  type ActivationImport,
  type SubstrateImportOptions,
  type SubstrateImportReport,
} from './import.js';
export { runSubstrateImport, formatSubstrateImport, type RunSubstrateImportOptions } from './run.js';
export { SUBSTRATE_ACTIVATIONS, type SubstrateActivation } from './source.js';
export { SubstrateImportConflict, type TableCounts } from './tables.js';
