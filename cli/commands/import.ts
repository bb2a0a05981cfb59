import type { Command } from 'commander';
import { dataDirOption } from '../options.js';

/** `hub import substrate <dir>`: brings the reference server's SQLite files into hub.db. */
export function addImportCommand(program: Command): void {
  const importCommand = program.command('import').description('bring data from other servers into hub.db');
  importCommand
    .command('substrate')
    .description(
      "import the reference server's SQLite files (arbor, cone, claudecode, changelog, mustache) into hub.db; rows already " +
        'there are left unchanged, and a row with the same id but different content refuses the whole import',
    )
    .argument('<dir>', "the reference's data directory")
    .addOption(dataDirOption())
    .action(async (dir: string, opts: { dataDir?: string }) => {
      // Loaded here, so better-sqlite3 is not loaded for the other commands.
      const { runSubstrateImport } = await import('../../activations/substrate-import/index.js');
      runSubstrateImport(dir, { dataDir: opts.dataDir });
    });
}
