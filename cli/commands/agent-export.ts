import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { resolveDataDir, type TokenRecord, TokenStore } from '../../src/auth/index.js';
import { PlexusClient } from '../../src/index.js';
import {
  type AgentView,
  type McpServerEntry,
  mcpServerEntry,
  methodsOf,
  type ProxyCommand,
  readAgentView,
  renderPlugin,
  serverName,
} from '../agent-projection.js';
import { dataDirOption } from '../options.js';
import { hubCommand } from '../own-package.js';

/**
 * `hub agent export <name>`: an agent's projection (agent-gateway §3) — a Claude Code
 * plugin, a `.mcp.json` entry or a Claude Desktop snippet — for the agent enrolled
 * under `name` (a token whose record says `agent: name`, its credential in
 * `<data-dir>/agents/<name>.json`).
 *
 * The plugin's skills come from the running hub's schema read *with the agent's own
 * credential*: the hub filters schemas by the caller's grants, so the export sees
 * exactly what the agent will see (built-ins, modules, extensions, mounted hubs alike)
 * and an ungranted method cannot appear; rebuilding the hub in this process would have
 * to repeat the serving command's modules and configuration to say the same.
 */

export const EXPORT_FORMATS = ['claude-code-plugin', 'mcp-json', 'claude-desktop'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What `hub mcp --agent` stores when the agent redeems its enrollment code (w4-enroll's format). */
interface StoredCredential {
  readonly url?: string;
  readonly token: string;
  readonly hub?: string;
}

const DESKTOP_FILE = 'claude_desktop_config.json';
const MCP_FILE = '.mcp.json';
const PLUGIN_MANIFEST = join('.claude-plugin', 'plugin.json');

function isLive(t: TokenRecord, now: number): boolean {
  return t.revokedAt === undefined && (t.expiresAt === undefined || now < t.expiresAt);
}

/** An agent's live token records: `agent: <name>`, or (tokens made before agents existed) a token named so. */
function agentTokens(store: TokenStore, name: string): TokenRecord[] {
  const now = Date.now();
  return store.records().filter((t) => ((t as { agent?: string }).agent ?? t.name) === name && isLive(t, now));
}

function checkAgentName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]*$/.test(name) || name.includes('..'))
    throw new Error(`"${name}" is not an agent name (letters, digits, '_', '.', '@', '-'; no path separators)`);
}

function readCredential(dataDir: string, name: string): StoredCredential {
  const file = join(dataDir, 'agents', `${name}.json`);
  if (!existsSync(file))
    throw new Error(
      `agent "${name}" has no stored credential (${file}): it is stored when the agent redeems its enrollment code, ` +
        `e.g. \`hub mcp --url <hub> --agent ${name} --enroll <code> --data-dir ${dataDir}\``,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const token = (parsed as { token?: unknown } | null)?.token;
  if (typeof token !== 'string' || token === '') throw new Error(`${file} holds no token`);
  const { url, hub } = parsed as { url?: unknown; hub?: unknown };
  return { token, ...(typeof url === 'string' ? { url } : {}), ...(typeof hub === 'string' ? { hub } : {}) };
}

export interface ExportOptions {
  readonly format: ExportFormat;
  /** Where files go; required for the plugin, else the snippet is printed (and merged into a file here when given). */
  readonly out?: string;
  /** The hub's WebSocket URL (default: the one in the agent's credential). */
  readonly url?: string;
  readonly dataDir?: string;
  /** Write the plugin into a non-empty directory that is not an earlier export. */
  readonly force?: boolean;
  /** `node` and the `hub` script (default: this package's, absolute). */
  readonly hub?: { command: string; args: readonly string[] };
}

export interface ExportResult {
  /** Files written (absolute), in order. */
  readonly files: string[];
  /** The MCP config snippet (`{ mcpServers: { … } }`). */
  readonly snippet: { mcpServers: Record<string, McpServerEntry> };
  /** The agent's view, for the plugin format. */
  readonly view?: AgentView;
}

/** The export, as a function (the command prints its result; tests call it directly too). */
export async function exportAgent(name: string, options: ExportOptions): Promise<ExportResult> {
  checkAgentName(name);
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format))
    throw new Error(`unknown format "${options.format}": use ${EXPORT_FORMATS.join(', ')}`);
  if (options.format === 'claude-code-plugin' && !options.out) throw new Error('--format claude-code-plugin needs --out <dir>');
  const dataDir = resolve(resolveDataDir(options.dataDir));
  if (TokenStore.existsIn(dataDir) && agentTokens(new TokenStore(dataDir), name).length === 0)
    throw new Error(
      `no live agent "${name}" in ${join(dataDir, 'tokens.json')} (never enrolled, revoked or expired: see \`hub agent list\`)`,
    );
  const credential = readCredential(dataDir, name);
  const url = options.url ?? credential.url;
  if (!url) throw new Error(`the credential of agent "${name}" names no hub URL: pass --url <ws-url>`);
  const hub = options.hub ?? hubCommand();
  const proxy: ProxyCommand = { command: hub.command, hubArgs: hub.args, url, agent: name, dataDir };

  if (options.format !== 'claude-code-plugin') {
    const root = credential.hub ?? 'plexus';
    const snippet = { mcpServers: { [serverName(root, name)]: mcpServerEntry(proxy) } };
    if (!options.out) return { files: [], snippet };
    const file = join(resolve(options.out), options.format === 'mcp-json' ? MCP_FILE : DESKTOP_FILE);
    mergeServers(file, snippet.mcpServers);
    return { files: [file], snippet };
  }

  const view = await readView(url, credential, name);
  const files = renderPlugin({ view, agent: name, proxy });
  const out = resolve(options.out!);
  preparePluginDir(out, options.force === true);
  const written: string[] = [];
  for (const [path, text] of files) {
    const file = join(out, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(file);
  }
  return { files: written, snippet: JSON.parse(files.get(MCP_FILE)!), view };
}

async function readView(url: string, credential: StoredCredential, name: string): Promise<AgentView> {
  const client = new PlexusClient({
    url,
    token: credential.token,
    connectAttempts: 1,
    ...(credential.hub ? { root: credential.hub } : {}),
  });
  try {
    return await readAgentView(client);
  } catch (err) {
    throw new Error(`cannot read the schema of ${url} as agent "${name}": ${(err as Error).message}`);
  } finally {
    client.close();
  }
}

/**
 * An earlier export is replaced whole (its skills too: a skill for an activation no
 * longer granted must not survive); any other non-empty directory is left alone
 * unless forced.
 */
function preparePluginDir(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  const earlier = existsSync(join(out, PLUGIN_MANIFEST));
  if (!earlier && !force && readdirSync(out).length > 0)
    throw new Error(`${out} is not empty and holds no earlier export (${PLUGIN_MANIFEST}): choose an empty directory or pass --force`);
  rmSync(join(out, 'skills'), { recursive: true, force: true });
}

/** Adds or replaces our servers in a config file, keeping every other key and server as it was. */
function mergeServers(file: string, servers: Record<string, McpServerEntry>): void {
  let config: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      config = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file} is not valid JSON (${(err as Error).message}): fix or remove it first`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`${file} does not hold a JSON object`);
  }
  const existing = config.mcpServers;
  const merged = { ...(typeof existing === 'object' && existing !== null ? existing : {}), ...servers };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...config, mcpServers: merged }, null, 2)}\n`);
}

/** Adds `export` to the `hub agent` command. */
export function addAgentExportCommand(agent: Command): void {
  agent
    .command('export')
    .description("write an agent's Claude Code plugin (skills for exactly what it is granted), .mcp.json entry or Claude Desktop snippet")
    .argument('<name>', 'the agent (as enrolled with hub agent enroll)')
    .addOption(new Option('--format <format>', 'what to write').choices(EXPORT_FORMATS).default('claude-code-plugin'))
    .option(
      '--out <dir>',
      `where to write: the plugin's directory; for mcp-json / claude-desktop, the directory whose ${MCP_FILE} / ${DESKTOP_FILE} ` +
        'gets the entry (printed when omitted)',
    )
    .option('--url <url>', "the hub's WebSocket URL (default: the one stored with the agent's credential)")
    .option('--force', 'write the plugin into a non-empty directory that holds no earlier export')
    .addOption(dataDirOption())
    .action(async (name: string, opts) => {
      const result = await exportAgent(name, opts);
      if (result.view) {
        const skills = result.view.activations;
        const methods = skills.reduce((n, a) => n + methodsOf(a).length, 0);
        const names = skills.map((a) => a.namespace).join(', ') || 'nothing granted';
        process.stdout.write(
          `wrote the plugin for agent ${name} to ${resolve(opts.out)}: ${skills.length} skill(s) (${names}), ${methods} method(s)\n` +
            `try it: claude --plugin-dir ${resolve(opts.out)}\n`,
        );
        return;
      }
      for (const file of result.files) process.stderr.write(`added ${Object.keys(result.snippet.mcpServers).join(', ')} to ${file}\n`);
      if (result.files.length === 0 || opts.format === 'claude-desktop')
        process.stdout.write(`${JSON.stringify(result.snippet, null, 2)}\n`);
    });
}
