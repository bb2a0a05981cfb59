/**
 * The exported `.mcp.json` entry is what a host starts: run it as the MCP SDK's stdio
 * client would (`hub mcp --url … --agent … --data-dir …` against a running hub) and
 * check its tool list is exactly the agent's granted methods (and the root's meta-tools).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { exportAgent } from '../../cli/commands/agent-export.js';
import { parseGrant, TokenStore } from '../../src/auth/index.js';
import { pathFromUnderscore } from '../../src/mcp/index.js';
import { type HubProcess, startHub } from '../support/hub-process.js';
import { enrollAgent, listedMethods } from './export-support.js';

describe('the exported MCP entry, started as a host starts it', () => {
  let hub: HubProcess;
  let work: string;
  let dataDir: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'plexus-export-mcp-'));
    dataDir = join(work, 'data');
    mkdirSync(dataDir);
    new TokenStore(dataDir).create({ name: 'owner', hub: 'plexus', grants: [parseGrant('**:read')] });
    hub = await startHub({ args: ['--data-dir', dataDir] });
  });

  after(async () => {
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('lists exactly the granted tools, the same methods the plugin skills list', async () => {
    await enrollAgent(dataDir, hub.url, 'mcp-agent', ['echo.*', 'solar.earth.info']);
    const plugin = join(work, 'plugin');
    await exportAgent('mcp-agent', { format: 'claude-code-plugin', out: plugin, dataDir });
    const skillMethods = ['echo', 'solar']
      .flatMap((s) => listedMethods(readFileSync(join(plugin, 'skills', s, 'SKILL.md'), 'utf8')).headings)
      .sort();
    const { snippet } = await exportAgent('mcp-agent', { format: 'mcp-json', dataDir });
    const entry = snippet.mcpServers['plexus-mcp-agent']!;
    assert.deepEqual(entry, JSON.parse(readFileSync(join(plugin, '.mcp.json'), 'utf8')).mcpServers['plexus-mcp-agent']);

    const transport = new StdioClientTransport({ command: entry.command, args: [...entry.args], cwd: work, stderr: 'pipe' });
    const client = new Client({ name: 'export-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      const paths = tools.map((t) => (t.name.includes('.') ? t.name : pathFromUnderscore(t.name)));
      const methods = paths.filter((p) => !p.startsWith('plexus.')).sort();
      assert.deepEqual(methods, ['echo.echo', 'echo.once', 'solar.earth.info']);
      assert.deepEqual(methods, skillMethods, 'the skills and the tool list agree');
    } finally {
      await client.close();
    }
  });
});
