import type { Command } from 'commander';
import { buildHub } from '../build-hub.js';
import { noBuiltinsOption } from '../options.js';

/** `hub prepare`: fills the schema cache, so the next start is warm (the package's own classes need none: dist/schemas.json). */
export function addPrepareCommand(program: Command): void {
  program
    .command('prepare')
    .description("generate the schema cache for the given modules' activations, so the next start is warm")
    .argument('[modules...]', 'TS/JS modules exporting activations')
    .addOption(noBuiltinsOption())
    .action(async (modules: string[], opts) => {
      const started = performance.now();
      const hub = await buildHub(modules, 'plexus', opts.builtins);
      process.stdout.write(`schemas ready in ${Math.round(performance.now() - started)} ms (root hash ${hub.hash()})\n`);
    });
}
