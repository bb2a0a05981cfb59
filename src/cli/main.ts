import { Command, InvalidArgumentError, Option } from 'commander';
import { explorerHandler } from '../http/explorer.js';
import { mcpHttpHandler, serveMcpHttp } from '../mcp/http.js';
import {
  DEFAULT_MCP_MAX_ITEMS,
  DEFAULT_MCP_MAX_RESULT_BYTES,
  DEFAULT_MCP_MAX_SESSIONS,
  DEFAULT_MCP_SESSION_IDLE_MS,
} from '../mcp/limits.js';
import { serveMcpStdio } from '../mcp/stdio.js';
import type { ToolNaming } from '../mcp/tool-names.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IrNamespace, SchemaSource } from '../../codegen/ir.js';
import { builtinActivations } from '../../activations/index.js';
import { createOptional, OPTIONAL_ACTIVATIONS, parseOptional, readStorageConfig, type OptionalSet } from '../../activations/optional.js';
import { defaultDataDir } from '../../activations/storage/data-dir.js';
import { pluginId } from '../../activations/storage/plugin-id.js';
import { PlexusClient } from '../client/plexus-client.js';
import { PlexusError } from '../wire/errors.js';
import { DynamicHub } from '../hub/dynamic-hub.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import { serveStdio } from '../transport/stdio-server.js';
import { DEFAULT_MAX_TOTAL_STREAMS } from '../transport/stream-budget.js';
import {
  DEFAULT_HOST,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PORT,
  serveWebSocket,
} from '../transport/websocket-server.js';
import { resolveDataDir } from '../auth/data-dir.js';
import { HubAuth, isLoopbackHost } from '../auth/hub-auth.js';
import type { Principal } from '../auth/principal.js';
import { discoveryHandler } from '../transport/discovery.js';
import { addAuthCommands } from './auth-commands.js';
import { itemText, paramsFromArgs, pluginText, TextPrinter } from './format.js';
import { importUserModule, loadActivations } from './load-modules.js';
import { applyMounts, federationOptions, mountOptions, startFederation } from './federation-options.js';
import { TerminalPrompter } from './prompt.js';

const DEFAULT_URL = `ws://${DEFAULT_HOST}:${DEFAULT_PORT}`;

// `hub schema | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

async function buildHub(
  modules: readonly string[],
  root: string,
  builtins: boolean,
  optional?: OptionalSet,
  auth?: HubAuth,
  opts: Record<string, unknown> = {},
): Promise<DynamicHub> {
  const hub = new DynamicHub(root, auth ? { policy: auth } : {});
  if (builtins) hub.register(...builtinActivations());
  if (optional) hub.register(...optional.activations);
  hub.register(...(await loadActivations(modules)));
  applyMounts(hub, opts);
  await hub.ready();
  await optional?.start(hub);
  return hub;
}

/**
 * The hub's auth from the data dir: required when it has a token store, else open.
 * A server reachable beyond loopback refuses to run open unless told to.
 */
function hubAuth(opts: { root: string; dataDir?: string; audit?: boolean; insecureNoAuth?: boolean }, bind?: string): HubAuth {
  const dataDir = resolveDataDir(opts.dataDir);
  const auth = new HubAuth({ hub: opts.root, dataDir, audit: opts.audit === true });
  if (auth.mode === 'open' && bind !== undefined && !isLoopbackHost(bind) && !opts.insecureNoAuth) {
    auth.close();
    throw new Error(
      `refusing to serve on ${bind} without authentication: create a token first (hub token create <name> --grant '<pattern>:read' --data-dir ${dataDir}), or pass --insecure-no-auth to serve every method to anyone who can reach the port`,
    );
  }
  // Flush the audit log and its head on any exit.
  process.once('exit', () => auth.close());
  return auth;
}

function authLine(auth: HubAuth, bind: string | undefined): string {
  const audit = auth.audit ? `; audit log ${auth.audit.file}` : '';
  if (auth.mode === 'required') return `plexus-hub: auth required: bearer tokens from ${auth.store!.file}${audit}`;
  const where = bind === undefined ? 'stdio' : isLoopbackHost(bind) ? `loopback ${bind}` : `${bind} (--insecure-no-auth)`;
  return `plexus-hub: auth open (${where}, no token store): every client may call every method${audit}`;
}

/** `--token` (or $PLEXUS_HUB_TOKEN) for stdio transports: that principal instead of the trusted parent. */
function stdioPrincipal(auth: HubAuth, token: string | undefined, transport: string): Principal | undefined {
  if (token === undefined) return undefined;
  if (auth.mode !== 'required') throw new Error('--token needs a token store in the data dir (hub token create …)');
  const result = auth.authenticate(token, transport, transport);
  if (!result.ok) throw new Error(result.message);
  return result.principal;
}

const tokenOption = (what: string) => new Option('--token <token>', what).env('PLEXUS_HUB_TOKEN');

/** `--with` and `--data-dir`: the opt-in storage activations over one SQLite file. */
const withOption = () =>
  new Option('--with <names>', `opt-in activations, comma-separated: ${OPTIONAL_ACTIVATIONS.join(', ')}`).argParser(parseOptional);
const dataDirOption = () =>
  new Option(
    '--data-dir <dir>',
    "the hub's state: tokens.json, audit.jsonl, hub.db of --with activations (default $PLEXUS_HUB_DATA or ./.plexus-hub)",
  );

const configOption = () => new Option('--config <file>', 'a JSON file: {"with": ["arbor", …], "data_dir": "…"} (flags win)');

async function optionalSet(opts: {
  with?: ReturnType<typeof parseOptional>;
  dataDir?: string;
  config?: string;
}): Promise<OptionalSet | undefined> {
  const config = opts.config ? readStorageConfig(opts.config) : undefined;
  const names = opts.with ?? config?.with ?? [];
  if (names.length === 0) return undefined;
  return createOptional(names, opts.dataDir ?? config?.dataDir ?? defaultDataDir());
}

const toolNamesOption = () =>
  new Option(
    '--tool-names <policy>',
    'MCP tool names: dotted, underscore (echo_echo), or auto (underscore for clients known to reject dots)',
  )
    .choices(['auto', 'dotted', 'underscore'])
    .default('auto');

const mcpMaxItemsOption = () =>
  new Option(
    '--mcp-max-items <n>',
    'data items one MCP tool result collects; past it the stream is cancelled and the result marked truncated',
  )
    .argParser(positive)
    .default(DEFAULT_MCP_MAX_ITEMS);
const mcpMaxBytesOption = () =>
  new Option('--mcp-max-bytes <n>', 'bytes of item JSON one MCP tool result collects; past it, the same')
    .argParser(positive)
    .default(DEFAULT_MCP_MAX_RESULT_BYTES);

const mcpMaxSessionsOption = () =>
  new Option('--mcp-max-sessions <n>', 'live MCP HTTP sessions; at the cap a new one evicts the session idle the longest, or gets 503')
    .argParser(positive)
    .default(DEFAULT_MCP_MAX_SESSIONS);
const mcpSessionIdleOption = () =>
  new Option('--mcp-session-idle <seconds>', 'an MCP HTTP session with no request in flight for this long is closed')
    .argParser(positive)
    .default(DEFAULT_MCP_SESSION_IDLE_MS / 1000);

const collect = (value: string, previous: string[]) => [...previous, value];
const allowHostOption = () =>
  new Option('--allow-host <host>', 'also accept this Host header (name or name:port; repeatable), e.g. behind a proxy or on a LAN name')
    .argParser(collect)
    .default([]);
const allowOriginOption = () =>
  new Option(
    '--allow-origin <origin>',
    'let browser pages of this origin (e.g. http://localhost:5173, or *) use the WebSocket and /mcp; repeatable',
  )
    .argParser(collect)
    .default([]);

/** The MCP options every command that serves MCP takes. */
function mcpOptions(opts: {
  toolNames: string;
  mcpMaxItems: number;
  mcpMaxBytes: number;
  mcpMaxSessions: number;
  mcpSessionIdle: number;
  allowHost?: string[];
  allowOrigin?: string[];
}) {
  return {
    allowedHosts: opts.allowHost ?? [],
    allowedOrigins: opts.allowOrigin ?? [],
    toolNames: opts.toolNames as ToolNaming,
    maxItems: opts.mcpMaxItems,
    maxResultBytes: opts.mcpMaxBytes,
    maxSessions: opts.mcpMaxSessions,
    sessionIdleMs: opts.mcpSessionIdle * 1000,
  };
}

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

const program = new Command('hub')
  .description('Plexus RPC hub: serve activations over WebSocket, call them, inspect their schemas')
  .showHelpAfterError();

federationOptions(program.command('serve'))
  .description('serve the built-in activations plus those exported by the given modules')
  .argument('[modules...]', 'TS/JS modules exporting @activation classes or Activations')
  .option('-p, --port <port>', 'port to listen on', integer, DEFAULT_PORT)
  .option('-H, --host <host>', 'interface to bind', DEFAULT_HOST)
  .option('--root <name>', 'root hub name', 'plexus')
  .option('--stdio', 'speak JSON-RPC on stdin/stdout, one message per line, instead of listening')
  .option('--no-builtins', 'leave out echo, health and solar')
  .option('--no-explorer', 'do not serve the schema explorer page at /')
  .option('--max-streams <n>', 'concurrent streams per connection', integer, 1024)
  .option('--max-frame-bytes <n>', 'largest accepted message in bytes (at least 1)', positive, 1024 * 1024)
  .option('--max-connections <n>', 'open WebSocket connections; past it an upgrade gets 503', positive, DEFAULT_MAX_CONNECTIONS)
  .option('--max-total-streams <n>', 'open streams across all connections', positive, DEFAULT_MAX_TOTAL_STREAMS)
  .option(
    '--idle-timeout <seconds>',
    'close a connection with no stream and no message for this long',
    positive,
    DEFAULT_IDLE_TIMEOUT_MS / 1000,
  )
  .option(
    '--ping-interval <seconds>',
    'ping every connection this often; drop one that did not answer the last ping',
    positive,
    DEFAULT_PING_INTERVAL_MS / 1000,
  )
  .addOption(withOption())
  .addOption(dataDirOption())
  .addOption(configOption())
  .option('--insecure-no-auth', 'serve on a non-loopback address without a token store (everyone may call everything)')
  .option('--audit', 'write the audit log even when auth is open')
  .addOption(tokenOption("with --stdio: act as this token's principal instead of trusting the parent process"))
  .addOption(toolNamesOption())
  .addOption(mcpMaxItemsOption())
  .addOption(mcpMaxBytesOption())
  .addOption(mcpMaxSessionsOption())
  .addOption(mcpSessionIdleOption())
  .addOption(allowHostOption())
  .addOption(allowOriginOption())
  .action(async (modules: string[], opts) => {
    const log = (line: string) => (opts.stdio ? process.stderr : process.stdout).write(`${line}\n`);
    const auth = hubAuth(opts, opts.stdio ? undefined : opts.host);
    const optional = await optionalSet(opts);
    const hub = await buildHub(modules, opts.root, opts.builtins, optional, auth, opts);
    const limits = { maxStreams: opts.maxStreams, maxFrameBytes: opts.maxFrameBytes };
    const federation = startFederation(hub, opts, log);
    if (opts.stdio) {
      const principal = stdioPrincipal(auth, opts.token, 'stdio');
      log(
        `plexus-hub: serving ${hub.namespace} (hash ${hub.hash()}) on stdio as ${principal ? `principal ${principal.name}` : 'the trusted parent process'}`,
      );
      if (auth.audit) log(`plexus-hub: audit log ${auth.audit.file}`);
      await serveStdio(hub, { ...limits, ...(principal ? { principal } : {}) });
      auth.close();
      // The host closed our input and the streams are done or cancelled. Cancelled
      // producers get a moment for their `finally`; then leave, even if some
      // activation still holds a timer.
      optional?.close();
      setTimeout(() => process.stdout.write('', () => process.exit(0)), 200).unref();
      return;
    }
    const mcp = mcpHttpHandler(hub, mcpOptions(opts));
    const explorer = opts.explorer ? explorerHandler() : undefined;
    const discovery = discoveryHandler(hub, { mcpPath: '/mcp' });
    const http = (req: IncomingMessage, res: ServerResponse) => discovery(req, res) || mcp(req, res) || (explorer?.(req, res) ?? false);
    const takeOver = federation.acceptor?.takeOver;
    const server = await serveWebSocket(hub, {
      host: opts.host,
      port: opts.port,
      ...limits,
      maxConnections: opts.maxConnections,
      maxTotalStreams: opts.maxTotalStreams,
      idleTimeoutMs: opts.idleTimeout * 1000,
      pingIntervalMs: opts.pingInterval * 1000,
      allowedHosts: opts.allowHost,
      allowedOrigins: opts.allowOrigin,
      http,
      ...(takeOver ? { takeOver } : {}),
    });
    mcp.bind(server.host, server.port);
    const names = hub
      .children()
      .map((c) => c.namespace)
      .join(', ');
    log(`plexus-hub: serving ${hub.namespace} [${names}] (hash ${hub.hash()}) on ${server.url}`);
    log(`plexus-hub: MCP (streamable HTTP) on http://${server.url.slice('ws://'.length)}/mcp`);
    if (explorer) log(`plexus-hub: schema explorer on http://${server.url.slice('ws://'.length)}/`);
    log(authLine(auth, opts.host));
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) process.exit(130); // a second signal: don't wait
      stopping = true;
      log(`plexus-hub: ${signal}, shutting down`);
      void Promise.all([mcp.close(), federation.close(), server.close({ reason: 'Server shutting down' })]).then(() => {
        auth.close();
        optional?.close(); // checkpoints the WAL into hub.db
        process.exit(0);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

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

program
  .command('call')
  .description('call a method and print its stream items as they arrive')
  .argument('<path>', 'method path, e.g. echo.echo')
  .argument('[params...]', 'params as --name value pairs')
  .option('--json <object>', 'params as one JSON object')
  .option('--url <url>', 'server URL', DEFAULT_URL)
  .option('--raw', 'print every item as a JSON line')
  .option('--template <name>', "print data items rendered by the server's mustache template of that name for this method")
  .option('--text <field>', 'print only that string field of each data item, as plain text as it arrives (streamed tokens: --text content)')
  .addOption(tokenOption('a hub token (sent as Authorization: Bearer)'))
  .allowUnknownOption()
  .action(async (path: string, words: string[], opts) => {
    // Questions the method asks mid-stream are prompted on the terminal (or read from a piped stdin).
    const prompter = new TerminalPrompter();
    const client = new PlexusClient({
      url: opts.url,
      connectAttempts: 1,
      onRequest: prompter.answer,
      ...(opts.token ? { token: opts.token } : {}),
    });
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

program
  .command('schema')
  .description('print the schema tree (methods, params, hashes) of a server, or of one path')
  .argument('[path]', 'an activation (solar.earth) or method (echo.echo); the whole tree when omitted')
  .option('--url <url>', 'server URL', DEFAULT_URL)
  .option('--json', 'print the raw schema JSON')
  .addOption(tokenOption('a hub token (sent as Authorization: Bearer)'))
  .action(async (path: string | undefined, opts) => {
    const client = new PlexusClient({ url: opts.url, connectAttempts: 1, ...(opts.token ? { token: opts.token } : {}) });
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

mountOptions(program.command('mcp'))
  .description('serve the hub as MCP tools: over stdio (for Claude Desktop / Claude Code), or streamable HTTP with --http')
  .argument('[modules...]', 'TS/JS modules exporting activations')
  .option('--http', 'serve streamable HTTP at /mcp instead of stdio')
  .option('-p, --port <port>', 'HTTP port', integer, 8808)
  .option('-H, --host <host>', 'HTTP interface to bind', DEFAULT_HOST)
  .option('--root <name>', 'root hub name', 'plexus')
  .option('--no-builtins', 'leave out echo, health and solar')
  .addOption(withOption())
  .addOption(dataDirOption())
  .addOption(configOption())
  .option('--insecure-no-auth', 'with --http on a non-loopback address: serve without a token store')
  .option('--audit', 'write the audit log even when auth is open')
  .addOption(tokenOption("over stdio: act as this token's principal instead of trusting the parent process"))
  .addOption(toolNamesOption())
  .addOption(mcpMaxItemsOption())
  .addOption(mcpMaxBytesOption())
  .addOption(mcpMaxSessionsOption())
  .addOption(mcpSessionIdleOption())
  .addOption(allowHostOption())
  .addOption(allowOriginOption())
  .action(async (modules: string[], opts) => {
    const auth = hubAuth(opts, opts.http ? opts.host : undefined);
    const hub = await buildHub(modules, opts.root, opts.builtins, await optionalSet(opts), auth, opts);
    const mcp = mcpOptions(opts);
    if (opts.http) {
      const server = await serveMcpHttp(hub, { host: opts.host, port: opts.port, ...mcp });
      process.stdout.write(`plexus-hub: MCP (streamable HTTP) on ${server.url}\n`);
      process.stdout.write(`${authLine(auth, opts.host)}\n`);
      const stop = () =>
        void server.close().then(() => {
          auth.close();
          process.exit(0);
        });
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return;
    }
    const principal = stdioPrincipal(auth, opts.token, 'mcp-stdio');
    const server = await serveMcpStdio(hub, { ...mcp, ...(principal ? { principal } : {}) });
    process.stderr.write(`plexus-hub: MCP on stdio (hash ${hub.hash()})\n`);
    // The host closed our stdin: running calls are cancelled; give their producers'
    // `finally` a moment, then leave even if a timer of some activation is still pending.
    await server.closed;
    setTimeout(() => process.exit(0), 200).unref();
  });

program
  .command('codegen')
  .description('generate a typed client package (TypeScript or Python) from a live server (--url) or an in-process hub (--module)')
  .requiredOption('--out <dir>', 'output directory')
  .option('--url <url>', 'server URL', DEFAULT_URL)
  .option('--module <file>', 'a module exporting a DynamicHub or activations; no server needed')
  .option('--emit-ir', 'also write the language-neutral IR as ir.json')
  .addOption(tokenOption('a hub token (sent as Authorization: Bearer)'))
  .option('--lang <language>', 'target language of the client: typescript or python', 'typescript')
  .action(async (opts) => {
    const { generate } = await import('../../codegen/index.js');
    let source: SchemaSource;
    let client: PlexusClient | undefined;
    if (opts.module) {
      const hub = await hubFromModule(opts.module);
      source = { schema: (path?: string) => hub.schema(path) };
    } else {
      client = new PlexusClient({ url: opts.url, connectAttempts: 1, ...(opts.token ? { token: opts.token } : {}) });
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

program
  .command('prepare')
  .description('generate the schema cache for the built-in activations and the given modules, so the next start is warm')
  .argument('[modules...]', 'TS/JS modules exporting activations')
  .option('--no-builtins', 'leave out echo, health and solar')
  .action(async (modules: string[], opts) => {
    const started = performance.now();
    const hub = await buildHub(modules, 'plexus', opts.builtins);
    process.stdout.write(`schemas ready in ${Math.round(performance.now() - started)} ms (root hash ${hub.hash()})\n`);
  });

addAuthCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const message = err instanceof PlexusError ? `error ${err.code}: ${err.message}` : (err as Error).message;
  process.stderr.write(`hub: ${message}\n`);
  process.exitCode = 1;
}
