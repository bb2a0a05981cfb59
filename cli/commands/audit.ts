import { join } from 'node:path';
import type { Command } from 'commander';
import { AUDIT_FILE, resolveDataDir, verifyAuditLog } from '../../src/auth/index.js';
import { dataDirOption } from '../options.js';

/** `hub audit verify`: checks the data dir's audit log directly. */
export function addAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('the audit log')
    .command('verify')
    .description('check the hash chain of the audit log; exits 1 at the first tampered line')
    .addOption(dataDirOption())
    .option('--file <file>', 'audit log file (default <data dir>/audit.jsonl)')
    .action(async (opts) => {
      const file = opts.file ?? join(resolveDataDir(opts.dataDir), AUDIT_FILE);
      const verdict = await verifyAuditLog(file);
      if (verdict.ok) {
        process.stdout.write(`ok: ${verdict.records} records, chain intact, last hash ${verdict.lastHash}\n`);
        return;
      }
      process.stderr.write(`audit: ${file}: line ${verdict.line}: ${verdict.reason} (${verdict.records} records verified before it)\n`);
      process.exitCode = 1;
    });
}
