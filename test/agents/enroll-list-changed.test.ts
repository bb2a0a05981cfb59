// Issue 28 §1: the agent's MCP proxy forwards the hub's `tools/list_changed`. The hub
// mounts a remote that is down at start; when it comes up, the hub's tree changes, the
// hub tells the proxy's upstream session, and the proxy tells its host, whose next
// `tools/list` shows the new (granted) tools.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { freePort, INVENTORY } from '../support/federation.js';
import { startHub, runHubCli, type HubProcess } from '../support/hub-process.js';
import { agentProxyTransport } from '../support/agent-proxy.js';

const dir = mkdtempSync(join(tmpdir(), 'plexus-enroll-lc-hub-'));
const agentDir = mkdtempSync(join(tmpdir(), 'plexus-enroll-lc-agent-'));
const hubs: HubProcess[] = [];

describe('the agent proxy forwards tools/list_changed', () => {
  after(async () => {
    for (const h of hubs) await h.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  });

  it('a remote coming up under a mount reaches the host as list_changed, and its granted tools are listed', async () => {
    const enrolled = await runHubCli(['agent', 'enroll', 'watcher', '--grant', 'b.**:read', '--data-dir', dir]);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const code = enrolled.stdout.trim();
    const port = await freePort();
    const hub = await startHub({
      args: ['--data-dir', dir, '--no-builtins', '--mount', `b=ws://127.0.0.1:${port}`, '--watch-ms', '100', '--reconnect-max-ms', '300'],
    });
    hubs.push(hub);
    const client = new Client({ name: 'agent-test', version: '1.0.0' });
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++);
    await client.connect(agentProxyTransport(hub.url, 'watcher', agentDir, ['--enroll', code], 'ignore'));
    try {
      const before = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(!before.includes('b.inventory.get'), before.join(','));
      hubs.push(await startHub({ args: ['--no-builtins', INVENTORY], port }));
      const until = Date.now() + 20_000;
      while (changes === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(changes > 0, 'no tools/list_changed reached the host');
      const afterChange = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(afterChange.includes('b.inventory.get'), afterChange.join(','));
      const got = await client.callTool({ name: 'b.inventory.get', arguments: { sku: 'abc' } });
      assert.match(JSON.stringify(got.structuredContent), /"count":3/);
    } finally {
      await client.close();
    }
  });
});
