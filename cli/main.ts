/** The `hub` command: the program, its commands (one module each under commands/), and how errors print. */
import { Command } from 'commander';
import { PlexusError } from '../src/index.js';
import { addApprovalsCommand } from './commands/approvals.js';
import { addAgentExportCommand } from './commands/agent-export.js';
import { addAuditCommand } from './commands/audit.js';
import { addCallCommand } from './commands/call.js';
import { addCodegenCommand } from './commands/codegen.js';
import { addExtensionCommand } from './commands/extension.js';
import { addImportCommand } from './commands/import.js';
import { addInitCommand } from './commands/init.js';
import { addJoinCommand } from './commands/join.js';
import { addMcpCommand } from './commands/mcp.js';
import { addPrepareCommand } from './commands/prepare.js';
import { addSchemaCommand } from './commands/schema.js';
import { addSecretCommand } from './commands/secret.js';
import { addServeCommand } from './commands/serve.js';
import { addTokenCommand } from './commands/token.js';
import { addAgentCommand } from './commands/agent.js';

// `hub schema | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('hub')
  .description('Plexus RPC hub: serve activations over WebSocket, call them, inspect their schemas')
  .showHelpAfterError();

// Subcommands are made with program.command() so they inherit showHelpAfterError; help lists them in this order.
addServeCommand(program);
addCallCommand(program);
addSchemaCommand(program);
addMcpCommand(program);
addCodegenCommand(program);
addPrepareCommand(program);
addTokenCommand(program);
addAgentExportCommand(addAgentCommand(program));
addSecretCommand(program);
addExtensionCommand(program);
addAuditCommand(program);
addApprovalsCommand(program);
addJoinCommand(program);
addImportCommand(program);
addInitCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const message = err instanceof PlexusError ? `error ${err.code}: ${err.message}` : (err as Error).message;
  process.stderr.write(`hub: ${message}\n`);
  process.exitCode = 1;
}
