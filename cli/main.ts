/** The `hub` command: the program, its commands (one module each under commands/), and how errors print. */
import { Command } from 'commander';
import { PlexusError } from '../src/index.js';

// `hub schema | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('hub')
  .description('Plexus RPC hub: serve activations over WebSocket, call them, inspect their schemas')
  .showHelpAfterError();

/**
 * The commands, in the order help lists them. Each is made with program.command(), so it
 * inherits showHelpAfterError. Only the one named on the command line is imported (a
 * `hub serve` start does not load call's prompt, codegen, init, …); anything else
 * (`hub`, `hub --help`, `hub help x`, a typo) loads them all.
 */
const COMMANDS: readonly (readonly [string, (program: Command) => Promise<unknown>])[] = [
  ['serve', async (p) => (await import('./commands/serve.js')).addServeCommand(p)],
  ['call', async (p) => (await import('./commands/call.js')).addCallCommand(p)],
  ['schema', async (p) => (await import('./commands/schema.js')).addSchemaCommand(p)],
  ['mcp', async (p) => (await import('./commands/mcp.js')).addMcpCommand(p)],
  ['codegen', async (p) => (await import('./commands/codegen.js')).addCodegenCommand(p)],
  ['prepare', async (p) => (await import('./commands/prepare.js')).addPrepareCommand(p)],
  ['token', async (p) => (await import('./commands/token.js')).addTokenCommand(p)],
  [
    'agent',
    async (p) => {
      const [{ addAgentCommand }, { addAgentExportCommand }] = await Promise.all([
        import('./commands/agent.js'),
        import('./commands/agent-export.js'),
      ]);
      addAgentExportCommand(addAgentCommand(p));
    },
  ],
  ['secret', async (p) => (await import('./commands/secret.js')).addSecretCommand(p)],
  ['extension', async (p) => (await import('./commands/extension.js')).addExtensionCommand(p)],
  ['audit', async (p) => (await import('./commands/audit.js')).addAuditCommand(p)],
  ['approvals', async (p) => (await import('./commands/approvals.js')).addApprovalsCommand(p)],
  ['join', async (p) => (await import('./commands/join.js')).addJoinCommand(p)],
  ['import', async (p) => (await import('./commands/import.js')).addImportCommand(p)],
  ['init', async (p) => (await import('./commands/init.js')).addInitCommand(p)],
];

const named = COMMANDS.find(([name]) => name === process.argv[2]);
for (const [, add] of named ? [named] : COMMANDS) await add(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const message = err instanceof PlexusError ? `error ${err.code}: ${err.message}` : (err as Error).message;
  process.stderr.write(`hub: ${message}\n`);
  process.exitCode = 1;
}
