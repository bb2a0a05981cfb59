import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { HUB_BIN, REPO_ROOT } from './repo.js';

/**
 * The agent's MCP server as a host starts it: `hub mcp --url <hub> --agent <name>
 * --data-dir <dir>` (plus `extra`, e.g. `--enroll <code>`), for the SDK's stdio client.
 */
export function agentProxyTransport(
  hubUrl: string,
  agent: string,
  dataDir: string,
  extra: readonly string[] = [],
  stderr: 'pipe' | 'ignore' = 'pipe',
): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: [HUB_BIN, 'mcp', '--url', hubUrl, '--agent', agent, '--data-dir', dataDir, ...extra],
    cwd: REPO_ROOT,
    stderr,
  });
}
