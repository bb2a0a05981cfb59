// Issue #28, the agent flow with approvals: an agent enrolled with `bash.execute:execute`
// (`hub agent enroll`), reached by a real MCP SDK client through its stdio proxy (`hub mcp
// --url --agent --enroll`): an execute call waits (a progress notification through the
// proxy), is approved from `hub approvals` in another process and runs; the next
// identical call waits again and is denied; revoking the agent withdraws a waiting call.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { runHubCli, startHub, type HubProcess } from '../support/hub-process.js';
import { agentProxyTransport } from '../support/agent-proxy.js';

const dir = mkdtempSync(join(tmpdir(), 'plexus-approvals-agent-hub-'));
const agentDir = mkdtempSync(join(tmpdir(), 'plexus-approvals-agent-'));

async function hub(...args: string[]): Promise<string> {
  const r = await runHubCli([...args, '--data-dir', dir]);
  assert.equal(r.code, 0, `hub ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

type ToolResult = { isError?: boolean; content: { type: string; text: string }[] };

describe('an enrolled agent over MCP: execute calls wait for the owner', () => {
  let served: HubProcess;
  let client: Client;

  before(async () => {
    const code = await hub('agent', 'enroll', 'bot', '--grant', 'bash.execute:execute');
    served = await startHub({ args: ['--no-builtins', '--with', 'bash', '--data-dir', dir] });
    client = new Client({ name: 'approvals-agent-test', version: '1.0.0' });
    await client.connect(agentProxyTransport(served.url, 'bot', agentDir, ['--enroll', code]));
  });
  after(async () => {
    await client?.close();
    await served?.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  });

  /** Calls bash.execute; once the "waiting for approval" notification names the id, runs `decide(id)`. */
  async function call(command: string, decide: (id: string) => Promise<unknown>): Promise<ToolResult> {
    let asked = false;
    return (await client.callTool({ name: 'bash.execute', arguments: { command } }, undefined, {
      timeout: 120_000,
      onprogress: (p) => {
        const id = /waiting for approval (apr_[0-9a-f]+)/.exec(p.message ?? '')?.[1];
        if (id && !asked) {
          asked = true;
          void decide(id);
        }
      },
    })) as ToolResult;
  }

  it('waits, approved from `hub approvals` it runs; the same call again waits and is denied; a revoked agent’s waiting call is withdrawn', async () => {
    const ran = await call('echo agent-approved', (id) => hub('approvals', 'approve', id));
    assert.ok(!ran.isError, JSON.stringify(ran));
    assert.match(JSON.stringify(ran.content), /agent-approved/);

    const denied = await call('echo agent-approved', (id) => hub('approvals', 'deny', id));
    assert.equal(denied.isError, true);
    assert.match(JSON.stringify(denied.content), /execute_not_approved|Execute not approved/);

    const withdrawn = await call('echo never', async () => {
      const listed = await hub('approvals');
      assert.match(listed, /bot \(tok_[0-9a-f]+/);
      await hub('agent', 'revoke', 'bot');
    });
    assert.equal(withdrawn.isError, true);
    assert.match(JSON.stringify(withdrawn.content), /revoked/);
    assert.equal(await hub('approvals'), 'no calls are waiting for approval');
  });
});
