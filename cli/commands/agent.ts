import type { Command } from 'commander';
import {
  DEFAULT_ENROLLMENT_TTL_MS,
  ENROLLMENT_CODE_BITS,
  EnrollmentStore,
  enrollmentStatus,
  formatGrant,
  type Grant,
  parseDuration,
  parseGrant,
  resolveDataDir,
  type TokenRecord,
  TokenStore,
} from '../../src/auth/index.js';
import { collect, dataDirOption } from '../options.js';

const day = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function tokenStatus(t: TokenRecord, now: number): string {
  if (t.revokedAt !== undefined) return 'revoked';
  if (t.expiresAt !== undefined && now >= t.expiresAt) return 'expired';
  return 'active';
}

function stores(dataDirOption: string | undefined): { tokens: TokenStore; enrollments: EnrollmentStore } {
  const dataDir = resolveDataDir(dataDirOption);
  const tokens = new TokenStore(dataDir);
  return { tokens, enrollments: new EnrollmentStore(dataDir, tokens) };
}

/**
 * `hub agent enroll|list|revoke`: agents are token holders that redeemed a one-time
 * enrollment code (docs/agents.md). Like `hub token`, they work on the data dir's
 * files directly, so they act on a running hub too. Returns the `agent` command, so
 * other subcommands (`hub agent export`) can be added to it.
 */
export function addAgentCommand(program: Command): Command {
  const agent = program.command('agent').description('enroll agents with one-time codes, list and revoke them');

  agent
    .command('enroll')
    .description('create a one-time enrollment code for an agent and print it once')
    .argument('<name>', "the agent's name (its principal once enrolled)")
    .option(
      '-g, --grant <grant>',
      "pattern[:verbs][:once][:ttl=<d>] the agent's token will carry, e.g. 'echo.*:read'; repeatable",
      collect,
      [],
    )
    .option('--expires <duration>', 'the code expires after this long (30s, 10m, 1h)', `${DEFAULT_ENROLLMENT_TTL_MS / 60_000}m`)
    .option('--root <name>', 'root name of the hub the agent enrolls with', 'plexus')
    .addOption(dataDirOption())
    .action((name: string, opts) => {
      const now = Date.now();
      const grants: Grant[] = (opts.grant as string[]).map((g) => parseGrant(g, now));
      const ttlMs = parseDuration(opts.expires);
      const { tokens, enrollments } = stores(opts.dataDir);
      const existed = TokenStore.existsIn(resolveDataDir(opts.dataDir));
      // The code is redeemed for a token: a hub started on this data dir must require them.
      tokens.init();
      const { code, record } = enrollments.create({ agent: name, hub: opts.root, grants, ttlMs, now });
      process.stderr.write(
        `${existed ? '' : `created the token store ${tokens.file}: a hub started on this data dir now requires a token (or enrollment)\n`}` +
          `enrollment ${record.id} for agent ${name} on hub ${record.hub}, expires ${day(record.expiresAt)} (one use, ${ENROLLMENT_CODE_BITS} bits)\n` +
          `grants: ${grants.length > 0 ? grants.map(formatGrant).join(' ') : '(none: the agent will be able to call nothing until granted)'}\n` +
          'the code is shown once; only its SHA-256 is stored. Redeem it with: hub mcp --url <ws-url> --agent ' +
          `${name} --enroll <code>\n`,
      );
      process.stdout.write(`${code}\n`);
    });

  agent
    .command('list')
    .description('list enrolled agents and pending enrollment codes (never a code or a token)')
    .addOption(dataDirOption())
    .option('--json', 'print {agents, enrollments} as JSON (without hashes)')
    .action((opts) => {
      const { tokens, enrollments } = stores(opts.dataDir);
      const now = Date.now();
      const agents = tokens.records().filter((t) => t.agent !== undefined);
      const codes = enrollments.records().filter((e) => enrollmentStatus(e, now) === 'pending');
      if (opts.json) {
        const shown = {
          agents: agents.map(({ sha256: _hash, ...rest }) => ({ ...rest, status: tokenStatus(rest as TokenRecord, now) })),
          enrollments: codes.map(({ sha256: _hash, ...rest }) => ({ ...rest, status: 'pending' })),
        };
        return void process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      }
      if (agents.length === 0 && codes.length === 0) return void process.stdout.write('no agents and no pending enrollment codes\n');
      for (const t of agents) {
        const grants = t.grants.map(formatGrant).join(' ') || '(no grants)';
        process.stdout.write(`agent ${t.agent}  ${t.id}  hub=${t.hub}  ${tokenStatus(t, now)}  enrolled ${day(t.createdAt)}  ${grants}\n`);
      }
      for (const e of codes) {
        const grants = e.grants.map(formatGrant).join(' ') || '(no grants)';
        process.stdout.write(`code  ${e.agent}  ${e.id}  hub=${e.hub}  pending  expires ${day(e.expiresAt)}  ${grants}\n`);
      }
    });

  agent
    .command('revoke')
    .description('revoke an agent: its token(s) and any pending code; running hubs cut its streams within a second')
    .argument('<name>')
    .addOption(dataDirOption())
    .action((name: string, opts) => {
      const { tokens, enrollments } = stores(opts.dataDir);
      const codes = enrollments.revoke(name);
      const revoked = tokens
        .records()
        .filter((t) => t.agent === name && t.revokedAt === undefined)
        .flatMap((t) => tokens.revoke(t.id));
      if (revoked.length === 0 && codes.length === 0) throw new Error(`no enrolled agent or pending code named "${name}"`);
      for (const t of revoked) process.stdout.write(`revoked ${t.id} (agent ${name})\n`);
      for (const e of codes) process.stdout.write(`revoked ${e.id} (pending code of agent ${name})\n`);
    });

  return agent;
}
