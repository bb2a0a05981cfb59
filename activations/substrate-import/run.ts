import { join } from 'node:path';
import { resolveDataDir } from '../../src/index.js';
import { DATABASE_FILE, openDataDir } from '../storage/index.js';
import { importSubstrate, type SubstrateImportReport } from './import.js';

export interface RunSubstrateImportOptions {
  /** Default: `$PLEXUS_HUB_DATA`, else `./.plexus-hub`. */
  readonly dataDir?: string;
  /** Where the report lines go (default stdout). */
  readonly write?: (text: string) => void;
}

/** The report as the CLI prints it: one line per activation, then one per table. */
export function formatSubstrateImport(report: SubstrateImportReport, target: string): string {
  const lines = [`imported ${report.from} into ${target}`];
  let inserted = 0;
  let unchanged = 0;
  for (const [activation, outcome] of Object.entries(report.activations)) {
    if (outcome.status === 'missing') {
      lines.push(`${activation}: no file (looked for ${outcome.looked_for.join(', ')})`);
      continue;
    }
    lines.push(`${activation}: ${outcome.file}`);
    for (const [table, counts] of Object.entries(outcome.tables)) {
      lines.push(`  ${table.padEnd(26)} ${String(counts.inserted).padStart(6)} inserted ${String(counts.unchanged).padStart(6)} unchanged`);
      inserted += counts.inserted;
      unchanged += counts.unchanged;
    }
  }
  lines.push(`total: ${inserted} inserted, ${unchanged} unchanged`);
  return `${lines.join('\n')}\n`;
}

/**
 * The action of `hub import substrate <dir> [--data-dir <dir>]`: imports into
 * `<data dir>/hub.db` and prints the counts. A conflict throws (nothing written).
 */
export function runSubstrateImport(dir: string, options: RunSubstrateImportOptions = {}): SubstrateImportReport {
  const dataDir = resolveDataDir(options.dataDir);
  const db = openDataDir(dataDir);
  try {
    const report = importSubstrate({ from: dir, db });
    (options.write ?? ((text) => process.stdout.write(text)))(formatSubstrateImport(report, join(dataDir, DATABASE_FILE)));
    return report;
  } finally {
    db.close();
  }
}
