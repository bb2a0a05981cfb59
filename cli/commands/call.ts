import type { Command } from 'commander';
import { pluginId } from '../../activations/storage/plugin-id.js';
import { type MethodSchema, PlexusClient, type PluginSchema } from '../../src/index.js';
import { itemText, paramsFromArgs, TextPrinter } from '../format.js';
import { clientOptions, clientRootOption, clientTokenOption, urlOption } from '../options.js';
import { TerminalPrompter } from '../prompt.js';

/**
 * Renders data items of the method at `path` with the server's mustache template
 * `name`: keyed by the plugin id of the method's activation (UUIDv5 of
 * "<namespace>@<major>", as the reference computes it) and the method name.
 */
async function templateRenderer(client: PlexusClient, path: string, name: string): Promise<(value: unknown) => Promise<string>> {
  const dot = path.lastIndexOf('.');
  if (dot < 0) throw new Error(`--template needs a method path like echo.echo, got ${path}`);
  const owner = (await client.schema(path.slice(0, dot))) as PluginSchema;
  const plugin_id = pluginId(owner.namespace, owner.version);
  const method = path.slice(dot + 1);
  return async (value) => client.result<string>('mustache.render', { plugin_id, method, template_name: name, value });
}

/** `hub call`: one method's stream, printed as it arrives. */
export function addCallCommand(program: Command): void {
  program
    .command('call')
    .description('call a method and print its stream items as they arrive')
    .argument('<path>', 'method path, e.g. echo.echo')
    .argument('[params...]', 'params as --name value pairs')
    .option('--json <object>', 'params as one JSON object')
    .addOption(urlOption())
    .option('--raw', 'print every item as a JSON line')
    .option('--template <name>', "print data items rendered by the server's mustache template of that name for this method")
    .option(
      '--text <field>',
      'print only that string field of each data item, as plain text as it arrives (streamed tokens: --text content)',
    )
    .addOption(clientTokenOption())
    .addOption(clientRootOption())
    .allowUnknownOption()
    .action(async (path: string, words: string[], opts) => {
      // Questions the method asks mid-stream are prompted on the terminal (or read from a piped stdin).
      const prompter = new TerminalPrompter();
      const client = new PlexusClient({ ...clientOptions(opts), onRequest: prompter.answer });
      try {
        let params: Record<string, unknown> = {};
        if (opts.json) params = JSON.parse(opts.json);
        if (words.length > 0) {
          const schema = (await client.schema(path).catch(() => undefined)) as MethodSchema | undefined;
          params = { ...params, ...paramsFromArgs(words, schema?.params) };
        }
        const render = opts.template ? await templateRenderer(client, path, opts.template) : undefined;
        let failed = false;
        const text = opts.raw || opts.text === undefined ? undefined : new TextPrinter(opts.text, process.stdout, process.stderr);
        for await (const item of client.call(path, params)) {
          if (item.type === 'error') failed = true;
          if (text) {
            text.print(item);
            continue;
          }
          const line = opts.raw ? JSON.stringify(item) : render && item.type === 'data' ? await render(item.content) : itemText(item);
          if (line !== undefined) (item.type === 'error' && !opts.raw ? process.stderr : process.stdout).write(`${line}\n`);
        }
        text?.end();
        process.exitCode = failed ? 1 : 0;
      } finally {
        prompter.close();
        client.close();
      }
    });
}
