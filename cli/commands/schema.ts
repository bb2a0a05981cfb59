import type { Command } from 'commander';
import { PlexusClient, type PluginSchema } from '../../src/index.js';
import { pluginText } from '../format.js';
import { clientOptions, clientRootOption, clientTokenOption, urlOption } from '../options.js';

/** `hub schema`: a server's schema tree, for humans or as JSON. */
export function addSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the schema tree (methods, params, hashes) of a server, or of one path')
    .argument('[path]', 'an activation (solar.earth) or method (echo.echo); the whole tree when omitted')
    .addOption(urlOption())
    .option('--json', 'print the raw schema JSON')
    .addOption(clientTokenOption())
    .addOption(clientRootOption())
    .action(async (path: string | undefined, opts) => {
      const client = new PlexusClient(clientOptions(opts));
      try {
        const top = await client.schema(path);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(top, null, 2)}\n`);
        if (!('methods' in top)) return void process.stdout.write(`${JSON.stringify(top, null, 2)}\n`);
        const walk = async (p: string, s: PluginSchema, indent: string): Promise<void> => {
          process.stdout.write(`${pluginText(p, s, indent)}\n`);
          for (const child of s.children ?? []) {
            const childPath = p === client.root ? child.namespace : `${p}.${child.namespace}`;
            await walk(childPath, (await client.schema(childPath)) as PluginSchema, `${indent}  `);
          }
        };
        await walk(path ?? client.root, top, '');
      } finally {
        client.close();
      }
    });
}
