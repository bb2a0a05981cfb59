import type { Command } from 'commander';
import type { IrNamespace, SchemaSource } from '../../codegen/index.js';
import { DynamicHub, PlexusClient } from '../../src/index.js';
import { importUserModule, loadActivations } from '../load-modules.js';
import { clientOptions, clientRootOption, clientTokenOption, urlOption } from '../options.js';

function countNamespaces(ns: IrNamespace): number {
  return 1 + ns.children.reduce((n, c) => n + countNamespaces(c), 0);
}

/** A module's exported DynamicHub, or a hub of the activations it exports. */
async function hubFromModule(file: string): Promise<DynamicHub> {
  const mod = await importUserModule(file);
  const exported = Object.values(mod).find((v): v is DynamicHub => v instanceof DynamicHub);
  const hub = exported ?? new DynamicHub().register(...(await loadActivations([file])));
  await hub.ready();
  return hub;
}

/** `hub codegen`: a typed client package from a live server's schema or a module's hub. */
export function addCodegenCommand(program: Command): void {
  program
    .command('codegen')
    .description('generate a typed client package (TypeScript or Python) from a live server (--url) or an in-process hub (--module)')
    .requiredOption('--out <dir>', 'output directory')
    .addOption(urlOption())
    .option('--module <file>', 'a module exporting a DynamicHub or activations; no server needed')
    .option('--emit-ir', 'also write the language-neutral IR as ir.json')
    .addOption(clientTokenOption())
    .addOption(clientRootOption())
    .option('--lang <language>', 'target language of the client: typescript or python', 'typescript')
    .action(async (opts) => {
      // Loaded on demand: no other command needs the emitters (or json-schema-to-typescript).
      const { generate } = await import('../../codegen/index.js');
      let source: SchemaSource;
      let client: PlexusClient | undefined;
      if (opts.module) {
        const hub = await hubFromModule(opts.module);
        source = { schema: (path?: string) => hub.schema(path) };
      } else {
        client = new PlexusClient(clientOptions(opts));
        source = { schema: (path?: string) => client!.schema(path) };
      }
      try {
        const { ir, files } = await generate(source, {
          out: opts.out,
          lang: opts.lang,
          emitIr: opts.emitIr,
          onProgress: (path, n) => {
            if (process.stderr.isTTY) process.stderr.write(`\rcodegen: ${n} activations read (${path})\x1b[K`);
          },
        });
        process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}codegen: ${countNamespaces(ir.tree)} activations read\n`);
        process.stdout.write(`wrote ${files.map((f) => f.path).join(', ')} to ${opts.out} (schema hash ${ir.hash})\n`);
      } finally {
        client?.close();
      }
    });
}
