import { join } from 'node:path';
import type { Command } from 'commander';
import { AUDIT_FILE, parseAnchor, resolveDataDir, verifyAuditLog } from '../../src/auth/index.js';
import { dataDirOption } from '../options.js';

/** `hub audit verify`: checks the data dir's audit log (and its rotated files) directly. */
export function addAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('the audit log')
    .command('verify')
    .description('check the hash chain of the audit log, its rotated files and its authenticated head; exits 1 at the first tampered line')
    .addOption(dataDirOption())
    .option('--file <file>', 'audit log file (default <data dir>/audit.jsonl)')
    .option('--key <file>', 'the key that authenticates the head (default audit.key beside the log)')
    .option(
      '--expect <seq:hash>',
      'the chain must hold this record: an anchor printed by an earlier verify and kept off this machine',
      parseAnchor,
    )
    .action(async (opts) => {
      const file = opts.file ?? join(resolveDataDir(opts.dataDir), AUDIT_FILE);
      const verdict = await verifyAuditLog(file, {
        ...(opts.key ? { keyFile: opts.key } : {}),
        ...(opts.expect ? { expect: opts.expect } : {}),
      });
      if (verdict.ok) {
        // `<records>:<last hash>` is the anchor to keep elsewhere for a later --expect.
        process.stdout.write(`ok: ${verdict.records} records, chain intact, last hash ${verdict.lastHash}\n`);
        return;
      }
      process.stderr.write(
        `audit: ${verdict.file ?? file}: line ${verdict.line}: ${verdict.reason} (${verdict.records} records verified before it)\n`,
      );
      process.exitCode = 1;
    });
}
