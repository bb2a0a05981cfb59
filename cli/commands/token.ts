import type { Command } from 'commander';
import { formatGrant, type Grant, parseDuration, parseGrant, resolveDataDir, type TokenRecord, TokenStore } from '../../src/auth/index.js';
import { collect, dataDirOption } from '../options.js';

function status(t: TokenRecord, now: number): string {
  if (t.revokedAt !== undefined) return 'revoked';
  if (t.expiresAt !== undefined && now >= t.expiresAt) return 'expired';
  return 'active';
}

const day = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** `hub token create|list|revoke`: they work on the data dir's token store directly. */
export function addTokenCommand(program: Command): void {
  const token = program.command('token').description("manage the hub's client tokens (stored as SHA-256 under the data dir)");

  token
    .command('create')
    .description('issue a token for a principal and print it once')
    .argument('<name>', 'the principal: who will hold the token')
    .option('-g, --grant <grant>', "pattern[:verbs][:once][:ttl=<d>], e.g. 'arbor.*:read,write'; repeatable", collect, [])
    .option('--ttl <duration>', 'the token expires after this long (30m, 12h, 7d, 2w)')
    .option('--root <name>', 'root name of the hub the token is for', 'plexus')
    .addOption(dataDirOption())
    .action((name: string, opts) => {
      const now = Date.now();
      const grants: Grant[] = (opts.grant as string[]).map((g) => parseGrant(g, now));
      const ttlMs = opts.ttl ? parseDuration(opts.ttl) : undefined;
      const store = new TokenStore(resolveDataDir(opts.dataDir));
      const { token: secret, record } = store.create({ name, hub: opts.root, grants, ...(ttlMs !== undefined ? { ttlMs } : {}), now });
      process.stderr.write(
        `created ${record.id} for ${name} on hub ${record.hub}${record.expiresAt ? `, expires ${day(record.expiresAt)}` : ''}\n` +
          `grants: ${grants.length > 0 ? grants.map(formatGrant).join(' ') : '(none: this token can call nothing)'}\n` +
          'the token is shown once; only its SHA-256 is stored:\n',
      );
      process.stdout.write(`${secret}\n`);
    });

  token
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .addOption(dataDirOption())
    .option('--json', 'print the records as JSON (without hashes)')
    .action((opts) => {
      const store = new TokenStore(resolveDataDir(opts.dataDir));
      const now = Date.now();
      const records = store.records();
      if (opts.json) {
        const shown = records.map(({ sha256: _hash, ...rest }) => ({ ...rest, status: status(rest as TokenRecord, now) }));
        return void process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      }
      if (records.length === 0) return void process.stdout.write(`no tokens in ${store.file}\n`);
      for (const t of records) {
        const grants = t.grants.map(formatGrant).join(' ') || '(no grants)';
        const expiry = t.expiresAt ? ` expires ${day(t.expiresAt)}` : '';
        process.stdout.write(`${t.id}  ${t.name}  hub=${t.hub}  ${status(t, now)}  created ${day(t.createdAt)}${expiry}  ${grants}\n`);
      }
    });

  token
    .command('revoke')
    .description('revoke a token by id, or every token of a principal by name; running hubs notice within a second')
    .argument('<id-or-name>')
    .addOption(dataDirOption())
    .action((idOrName: string, opts) => {
      const store = new TokenStore(resolveDataDir(opts.dataDir));
      const revoked = store.revoke(idOrName);
      if (revoked.length === 0) throw new Error(`no active token with id or name "${idOrName}"`);
      for (const t of revoked) process.stdout.write(`revoked ${t.id} (${t.name})\n`);
    });
}
