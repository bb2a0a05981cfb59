import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Command, Option } from 'commander';
import { explorerHandler } from '../../src/http/index.js';
import {
  ByteBudget,
  DEFAULT_GRACE_MS,
  DEFAULT_HOST,
  DEFAULT_MAX_CONNECTION_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_TOTAL_STREAMS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PORT,
  discoveryHandler,
  enrollHandler,
  StreamBudget,
  serveStdio,
  serveWebSocket,
  mcpHttpHandler,
} from '../../src/index.js';
import { buildHub, optionalSet } from '../build-hub.js';
import { startExtensions } from '../extensions.js';
import { checkJoinOptions, federationOptions, startFederation } from '../federation-options.js';
import { applyServeConfig, effectiveConfig } from '../hub-config.js';
import { hubState } from '../hub-state.js';
import { addMcpOptions, addStateOptions, integer, mcpSettings, noBuiltinsOption, positive, rootOption, tokenOption } from '../options.js';
import { addApprovalOptions, addAuditOptions, authLine, hubAuth, stdioPrincipal } from '../serving-auth.js';
import { announceOwner } from '../owner-session.js';

/** `hub serve`: the hub over WebSocket (with MCP, discovery and the explorer on the same port), or over stdio. */
export function addServeCommand(program: Command): void {
  const serve = federationOptions(program.command('serve'))
    .description('serve the built-in activations plus those exported by the given modules')
    .argument('[modules...]', 'TS/JS modules exporting @activation classes or Activations')
    .option('-p, --port <port>', 'port to listen on', integer, DEFAULT_PORT)
    .option('-H, --host <host>', 'interface to bind', DEFAULT_HOST)
    .addOption(rootOption())
    .option('--stdio', 'speak JSON-RPC on stdin/stdout, one message per line, instead of listening')
    .addOption(
      new Option(
        '--wire <form>',
        "wire form of calls unless a connection asks (?wire=): legacy, or turns (the newest reference's update/terminal items)",
      )
        .choices(['legacy', 'turns'])
        .default('legacy'),
    )
    .addOption(noBuiltinsOption())
    .option('--no-explorer', 'do not serve the schema explorer page at /')
    .option('--max-streams <n>', 'concurrent streams per connection', integer, 1024)
    .option('--max-frame-bytes <n>', 'largest accepted message in bytes (at least 1)', positive, 1024 * 1024)
    .option('--max-connections <n>', 'open WebSocket connections; past it an upgrade gets 503', positive, DEFAULT_MAX_CONNECTIONS)
    .option('--max-total-streams <n>', 'open streams across all connections', positive, DEFAULT_MAX_TOTAL_STREAMS)
    .option(
      '--max-connection-bytes <n>',
      "bytes one connection may hold (its streams' params, queued output, partial frame); past it a stream gets -32005",
      positive,
      DEFAULT_MAX_CONNECTION_BYTES,
    )
    .option(
      '--max-total-bytes <n>',
      'bytes the process may hold for all connections together; past it a stream gets -32005',
      positive,
      DEFAULT_MAX_TOTAL_BYTES,
    )
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
    );
  addStateOptions(serve)
    .option('--insecure-no-auth', 'serve on a non-loopback address without a token store (everyone may call everything)')
    .option('--audit', 'write the audit log even when auth is open')
    .addOption(tokenOption("with --stdio: act as this token's principal instead of trusting the parent process"))
    .option('--print-config', 'print the effective configuration (flags, --config file and defaults; secrets by name) as JSON and exit');
  addMcpOptions(serve);
  addAuditOptions(serve);
  addApprovalOptions(serve);
  serve.action(async (modules: string[], opts, cmd: Command) => {
    const state = hubState(opts);
    // The config file's `serve` section fills in the flags not given.
    if (state.config) applyServeConfig(cmd, opts, state.config, state.dataDir);
    if (opts.printConfig) {
      process.stdout.write(`${JSON.stringify(effectiveConfig(cmd, opts, state, state.config), null, 2)}\n`);
      return;
    }
    const log = (line: string) => (opts.stdio ? process.stderr : process.stdout).write(`${line}\n`);
    const auth = hubAuth(opts, state.dataDir, opts.stdio ? undefined : opts.host);
    try {
      checkJoinOptions(opts, auth.mode === 'required');
    } catch (err) {
      auth.close();
      throw err;
    }
    const optional = await optionalSet(state);
    const hub = await buildHub(modules, opts.root, opts.builtins, optional, auth, opts);
    const limits = { maxStreams: opts.maxStreams, maxFrameBytes: opts.maxFrameBytes, wire: opts.wire as 'legacy' | 'turns' };
    const federation = startFederation(hub, opts, log, state.dataDir);
    const extensions = await startExtensions(hub, state, auth, log);
    if (opts.stdio) {
      const principal = stdioPrincipal(auth, opts.token, 'stdio');
      log(
        `plexus-hub: serving ${hub.namespace} (hash ${hub.hash()}) on stdio as ${principal ? `principal ${principal.name}` : 'the trusted parent process'}`,
      );
      if (auth.audit) log(`plexus-hub: audit log ${auth.audit.file}`);
      await serveStdio(hub, { ...limits, ...(principal ? { principal } : {}) });
      extensions.close();
      auth.close();
      // The host closed our input and the streams are done or cancelled. Cancelled
      // producers get a moment for their `finally`; then leave, even if some
      // activation still holds a timer.
      optional?.close();
      setTimeout(() => process.stdout.write('', () => process.exit(0)), 200).unref();
      return;
    }
    // One budget of open streams: WebSocket streams and running MCP tool calls draw on it alike.
    const streamBudget = new StreamBudget(opts.maxTotalStreams);
    const mcp = mcpHttpHandler(hub, { ...mcpSettings(opts), streamBudget });
    const explorer = opts.explorer ? explorerHandler() : undefined;
    const discovery = discoveryHandler(hub, { mcpPath: '/mcp' });
    const enroll = enrollHandler(hub);
    const http = (req: IncomingMessage, res: ServerResponse) =>
      discovery(req, res) || enroll(req, res) || mcp(req, res) || (explorer?.(req, res) ?? false);
    const takeOver = federation.acceptor?.takeOver;
    // One byte budget for the process: everything that holds memory for a peer charges it.
    const byteBudget = new ByteBudget(opts.maxTotalBytes);
    const server = await serveWebSocket(hub, {
      host: opts.host,
      port: opts.port,
      ...limits,
      maxConnections: opts.maxConnections,
      maxTotalStreams: opts.maxTotalStreams,
      maxConnectionBytes: opts.maxConnectionBytes,
      byteBudget,
      streamBudget,
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
    const forgetOwner = announceOwner(auth, state.dataDir, hub.namespace, server.url, explorer !== undefined, log);
    process.once('exit', forgetOwner);
    log(authLine(auth, opts.host));
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) process.exit(130); // a second signal: don't wait
      stopping = true;
      log(`plexus-hub: ${signal}, shutting down`);
      // MCP calls get the grace period first, while WebSocket streams keep running; the
      // WebSocket close (which ends every HTTP connection) gets what is left of it, so
      // it cannot cut the MCP calls' error results on their way out.
      const started = Date.now();
      void Promise.all([mcp.close({ graceMs: DEFAULT_GRACE_MS }), federation.close()])
        .then(() => server.close({ reason: 'Server shutting down', graceMs: Math.max(0, DEFAULT_GRACE_MS - (Date.now() - started)) }))
        .then(() => {
          extensions.close();
          auth.close();
          optional?.close(); // checkpoints the WAL into hub.db
          process.exit(0);
        });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
