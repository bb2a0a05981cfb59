import type { SqliteDatabase } from '../storage/index.js';
import type { TableSpec } from './tables.js';

/** The reference activations whose SQLite files can be imported. */
export const SUBSTRATE_ACTIVATIONS = ['arbor', 'cone', 'claudecode', 'changelog', 'mustache'] as const;
export type SubstrateActivation = (typeof SUBSTRATE_ACTIVATIONS)[number];

/** How one reference activation's SQLite file maps onto `hub.db`. */
export interface ReferenceSource {
  readonly activation: SubstrateActivation;
  /** The file name in the reference's data dir: `activations/<activation>/<file>` (newest), or bare (oldest). */
  readonly file: string;
  /** Brings our tables to their newest schema (the activation's own migrations). */
  readonly migrateTarget: (db: SqliteDatabase) => void;
  /** In an order that satisfies the foreign keys (parents first). */
  readonly tables: readonly TableSpec[];
}
