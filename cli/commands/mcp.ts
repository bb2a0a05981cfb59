import type { Command } from 'commander';
import { DEFAULT_HOST, DEFAULT_MAX_CONNECTIONS, serveMcpHttp, serveMcpStdio } from '../../src/index.js';
import { startExtensions } from '../extensions.js';
import { buildHub, optionalSet } from '../build-hub.js';
import { mountOptions } from '../federation-options.js';
import { hubState } from '../hub-state.js';
import { addMcpOptions, addStateOptions, integer, mcpSettings, noBuiltinsOption, positive, rootOption, tokenOption } from '../options.js';
import { addApprovalOptions, addAuditOptions, authLine, hubAuth, stdioPrincipal } from '../serving-auth.js';

/** `hub mcp`: the hub as MCP tools only, over stdio or streamable HTTP. */
export function addMcpCommand(program: Command): void {
  const mcp = mountOptions(program.command('mcp'))
    .description('serve the hub as MCP tools: over stdio (for Claude Desktop / Claude Code), or streamable HTTP with --http')
    .argument('[modules...]', 'TS/JS modules exporting activations')
    .option('--http', 'serve streamable HTTP at /mcp instead of stdio')
    .option('-p, --port <port>', 'HTTP port', integer, 8808)
    .option('-H, --host <host>', 'HTTP interface to bind', DEFAULT_HOST)
    .option(
      '--max-connections <n>',
      'with --http: open TCP connections (as hub serve counts them); past it a new one gets 503',
      positive,
      DEFAULT_MAX_CONNECTIONS,
    )
    .option(
      '--max-frame-bytes <n>',
      'over stdio: largest accepted line in bytes; a longer one is skipped with -32600',
      positive,
      1024 * 1024,
    )
    .addOption(rootOption())
    .addOption(noBuiltinsOption());
  addStateOptions(mcp)
    .option('--insecure-no-auth', 'with --http on a non-loopback address: serve without a token store')
    .option('--audit', 'write the audit log even when auth is open')
    .addOption(tokenOption("over stdio: act as this token's principal instead of trusting the parent process"));
  mcp
    .option('--url <ws-url>', 'proxy to this running hub (its WebSocket URL) as --agent, instead of serving a hub of this process')
    .option('--agent <name>', 'with --url: the agent whose stored credential (<data-dir>/agents/<name>.json) the proxy uses')
    .option('--enroll <code>', 'with --url/--agent: redeem this enrollment code on first start and store the credential');
  addMcpOptions(mcp);
  addAuditOptions(mcp);
  addApprovalOptions(mcp);
  mcp.action(async (modules: string[], opts) => {
    const state = hubState(opts);
    if (opts.url !== undefined || opts.agent !== undefined || opts.enroll !== undefined) {
      if (opts.url === undefined || opts.agent === undefined) throw new Error('--url and --agent go together (and --enroll needs both)');
      if (opts.http || modules.length > 0) throw new Error('--url proxies to a running hub over stdio: it takes no modules and no --http');
      const log = (line: string) => void process.stderr.write(`${line}\n`);
      // Loaded on use: the MCP SDK's client and server take a while to import, and every `hub` command loads this module.
      const { serveAgentProxy } = await import('../agent-proxy.js');
      const proxy = await serveAgentProxy({ url: opts.url, agent: opts.agent, dataDir: state.dataDir, enroll: opts.enroll }, log);
      await proxy.closed;
      setTimeout(() => process.exit(0), 200).unref();
      return;
    }
    // No owner channel (no WebSocket): execute calls of a token are refused unless --allow-standing-execute.
    const auth = hubAuth(opts, state.dataDir, opts.http ? opts.host : undefined, false);
    const hub = await buildHub(modules, opts.root, opts.builtins, await optionalSet(state), auth, opts);
    await startExtensions(hub, state, auth, (line) => process.stderr.write(`${line}\n`));
    const settings = mcpSettings(opts);
    if (opts.http) {
      const server = await serveMcpHttp(hub, { host: opts.host, port: opts.port, maxConnections: opts.maxConnections, ...settings });
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
    const server = await serveMcpStdio(hub, { ...settings, maxFrameBytes: opts.maxFrameBytes, ...(principal ? { principal } : {}) });
    process.stderr.write(`plexus-hub: MCP on stdio (hash ${hub.hash()})\n`);
    // The host closed our stdin: running calls are cancelled; give their producers'
    // `finally` a moment, then leave even if a timer of some activation is still pending.
    await server.closed;
    setTimeout(() => process.exit(0), 200).unref();
  });
}
