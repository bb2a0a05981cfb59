/**
 * The option definitions and parsers more than one command takes, defined once so
 * their flags, parsing, defaults and help read the same everywhere.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { OPTIONAL_ACTIVATIONS, parseOptional } from '../activations/optional.js';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_MCP_BODY_TIMEOUT_MS,
  DEFAULT_MCP_MAX_BODIES,
  DEFAULT_MCP_MAX_CALLS,
  DEFAULT_MCP_MAX_CALLS_PER_SESSION,
  DEFAULT_MCP_MAX_ITEMS,
  DEFAULT_MCP_MAX_RESULT_BYTES,
  DEFAULT_MCP_MAX_SESSIONS,
  DEFAULT_MCP_SESSION_IDLE_MS,
  type McpHttpOptions,
  type ToolNaming,
} from '../src/index.js';

export const DEFAULT_URL = `ws://${DEFAULT_HOST}:${DEFAULT_PORT}`;

/** A count that may be 0 (`--max-streams 0` refuses every stream). */
export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** A size, limit or interval, where 0 would mean nothing works (or a busy loop). */
export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--url`: the server a client command talks to. */
export const urlOption = () => new Option('--url <url>', 'server URL').default(DEFAULT_URL);

/** `--token` (or $PLEXUS_HUB_TOKEN): what it means depends on the command. */
export const tokenOption = (what: string) => new Option('--token <token>', what).env('PLEXUS_HUB_TOKEN');
/** `--token` of the commands that are clients of a hub. */
export const clientTokenOption = () => tokenOption('a hub token (sent as Authorization: Bearer)');

export const rootOption = () => new Option('--root <name>', 'root hub name').default('plexus');
/** `--root` of the client commands: the server's root name, which they otherwise ask `_info` for. */
export const clientRootOption = () => new Option('--root <name>', "the server's root name (default: asked from the server's _info)");
/** A client command's connection settings. */
export const clientOptions = (opts: { url: string; token?: string; root?: string }) => ({
  url: opts.url,
  connectAttempts: 1,
  ...(opts.token ? { token: opts.token } : {}),
  ...(opts.root ? { root: opts.root } : {}),
});
export const noBuiltinsOption = () => new Option('--no-builtins', 'leave out echo, health and solar');

const DATA_DIR_DEFAULT = 'default $PLEXUS_HUB_DATA or ./.plexus-hub';

/** `--data-dir` of the commands that manage the data dir's files (`hub token`, `hub audit`). */
export const dataDirOption = () => new Option('--data-dir <dir>', `data dir (${DATA_DIR_DEFAULT})`);

/** `--with`, `--data-dir` and `--config` of the serving commands: the hub's state and its opt-in storage activations. */
export function addStateOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--with <names>', `opt-in activations, comma-separated: ${OPTIONAL_ACTIVATIONS.join(', ')}`).argParser(parseOptional),
    )
    .addOption(
      new Option('--data-dir <dir>', `the hub's state: tokens.json, audit.jsonl, hub.db of --with activations (${DATA_DIR_DEFAULT})`),
    )
    .addOption(
      new Option(
        '--config <file>',
        'a JSON config file (schema: schema/hub-config.schema.json): with, data_dir, serve flags, bash/claudecode/cone settings (flags win)',
      ),
    );
}

/** The MCP limits and the HTTP origin checks: `hub serve` (at /mcp) and `hub mcp` take the same ones. */
export function addMcpOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--tool-names <policy>',
        'MCP tool names: dotted, underscore (echo_echo), or auto (underscore for clients known to reject dots)',
      )
        .choices(['auto', 'dotted', 'underscore'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--mcp-max-items <n>',
        'data items one MCP tool result collects; past it the stream is cancelled and the result marked truncated',
      )
        .argParser(positive)
        .default(DEFAULT_MCP_MAX_ITEMS),
    )
    .addOption(
      new Option('--mcp-max-bytes <n>', 'bytes of item JSON one MCP tool result collects; past it, the same')
        .argParser(positive)
        .default(DEFAULT_MCP_MAX_RESULT_BYTES),
    )
    .addOption(
      new Option('--mcp-max-sessions <n>', 'live MCP HTTP sessions; at the cap a new one evicts the session idle the longest, or gets 503')
        .argParser(positive)
        .default(DEFAULT_MCP_MAX_SESSIONS),
    )
    .addOption(
      new Option('--mcp-session-idle <seconds>', 'an MCP HTTP session with no request in flight for this long is closed')
        .argParser(positive)
        .default(DEFAULT_MCP_SESSION_IDLE_MS / 1000),
    )
    .addOption(
      new Option('--mcp-max-calls <n>', 'MCP tool calls running at once in one session; past it a call gets -32005')
        .argParser(positive)
        .default(DEFAULT_MCP_MAX_CALLS_PER_SESSION),
    )
    .addOption(
      new Option(
        '--mcp-max-total-calls <n>',
        'MCP tool calls running at once across all sessions (each also takes one of --max-total-streams); past it -32005',
      )
        .argParser(positive)
        .default(DEFAULT_MCP_MAX_CALLS),
    )
    .addOption(
      new Option('--mcp-max-bodies <n>', 'MCP HTTP request bodies being received at once; past it a POST gets 503')
        .argParser(positive)
        .default(DEFAULT_MCP_MAX_BODIES),
    )
    .addOption(
      new Option('--mcp-body-timeout <seconds>', 'time to send a whole MCP HTTP request body; past it 408 and the connection closes')
        .argParser(positive)
        .default(DEFAULT_MCP_BODY_TIMEOUT_MS / 1000),
    )
    .addOption(
      new Option(
        '--allow-host <host>',
        'also accept this Host header (name or name:port; repeatable), e.g. behind a proxy or on a LAN name',
      )
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option(
        '--allow-origin <origin>',
        'let browser pages of this origin (e.g. http://localhost:5173, or *) use the WebSocket and /mcp; repeatable',
      )
        .argParser(collect)
        .default([]),
    );
}

/** What `addMcpOptions` parsed. */
export interface McpOptionValues {
  readonly toolNames: string;
  readonly mcpMaxItems: number;
  readonly mcpMaxBytes: number;
  readonly mcpMaxSessions: number;
  readonly mcpSessionIdle: number;
  readonly mcpMaxCalls: number;
  readonly mcpMaxTotalCalls: number;
  readonly mcpMaxBodies: number;
  readonly mcpBodyTimeout: number;
  readonly allowHost: string[];
  readonly allowOrigin: string[];
}

/** The MCP bridge's settings from `addMcpOptions`' values. */
export function mcpSettings(opts: McpOptionValues) {
  return {
    allowedHosts: opts.allowHost,
    allowedOrigins: opts.allowOrigin,
    toolNames: opts.toolNames as ToolNaming,
    maxItems: opts.mcpMaxItems,
    maxResultBytes: opts.mcpMaxBytes,
    maxSessions: opts.mcpMaxSessions,
    sessionIdleMs: opts.mcpSessionIdle * 1000,
    maxCallsPerSession: opts.mcpMaxCalls,
    maxCalls: opts.mcpMaxTotalCalls,
    maxBodies: opts.mcpMaxBodies,
    bodyTimeoutMs: opts.mcpBodyTimeout * 1000,
  } satisfies McpHttpOptions;
}
