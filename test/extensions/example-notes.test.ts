// Issue #27's example, end to end as a hub's owner runs it: the notes service of
// examples/extensions (local-rest, behind a bearer kept in the secret store) and grep
// over a notes folder (cli) installed from examples/extensions/notes.json into a
// running `hub serve` in required-auth mode; a token granted the read capabilities
// and the grep by name calls them over WebSocket and MCP; grep, an execute call, waits
// for `hub approvals approve`. The secret reaches the service and nothing else: not an
// item, not the hub's output, not the audit log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PlexusClient, type StreamItem } from '../../src/index.js';
import { eventually } from '../support/helpers.js';
import { type HubProcess, runHubCli, startHub } from '../support/hub-process.js';
import { REPO_ROOT } from '../support/repo.js';

const SECRET = 'notes-bearer-3f9c1e7a5b';

describe('the notes example: local-rest and cli capabilities through a running hub', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'plexus-example-notes-'));
  const dataDir = join(scratch, 'data');
  let service: ChildProcess;
  let hub: HubProcess;
  let token: string;
  const seen: unknown[] = [];

  before(async () => {
    service = spawn(process.execPath, [join(REPO_ROOT, 'examples/extensions/notes-service.mjs')], {
      env: { ...process.env, PORT: '0', NOTES_TOKEN: SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const serviceUrl = await new Promise<string>((resolve) =>
      createInterface({ input: service.stdout! }).on('line', (l) => {
        const m = /on (http:\/\/\S+)/.exec(l);
        if (m) resolve(m[1]!);
      }),
    );
    // The example as shipped, pointed at this run's port.
    const manifest = readFileSync(join(REPO_ROOT, 'examples/extensions/notes.json'), 'utf8')
      .replaceAll('http://127.0.0.1:4555', serviceUrl)
      .replace('"../../schema/extension.schema.json"', JSON.stringify(join(REPO_ROOT, 'schema/extension.schema.json')));
    writeFileSync(join(scratch, 'notes.json'), manifest);
    mkdirSync(join(scratch, 'notes'));
    writeFileSync(join(scratch, 'notes', 'todo.txt'), 'buy milk\ncall the plumber\n');

    const set = await runHubCli(['secret', 'set', 'NOTES_TOKEN', '--data-dir', dataDir], { input: `${SECRET}\n` });
    assert.equal(set.code, 0, set.stderr);
    const created = await runHubCli([
      'token',
      'create',
      'reader',
      '--grant',
      'notes.*:read',
      '--grant',
      'notes.files.grep:execute',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(created.code, 0, created.stderr);
    token = created.stdout.trim();
    const added = await runHubCli(['extension', 'add', '--yes', join(scratch, 'notes.json'), '--data-dir', dataDir]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout + added.stderr, /grep/, 'the approval surface names the binary');
    hub = await startHub({ args: ['--no-builtins', '--data-dir', dataDir, '--audit'], cwd: scratch });
  });
  after(async () => {
    await hub?.stop();
    service?.kill();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function call(path: string, params: Record<string, unknown>, onItem: (i: StreamItem) => void = () => {}) {
    const client = new PlexusClient({ url: hub.url, token, connectAttempts: 1 });
    try {
      const items: StreamItem[] = [];
      for await (const item of client.call(path, params)) {
        items.push(item);
        seen.push(item);
        onItem(item);
      }
      return items;
    } finally {
      client.close();
    }
  }
  const data = (items: StreamItem[]) => items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content);

  it('local-rest over WebSocket: the list, then one note; the secret went to the service', async () => {
    assert.deepEqual(data(await call('notes.list', {})), [
      { id: '1', title: 'Shopping' },
      { id: '2', title: 'Ideas' },
    ]);
    assert.deepEqual(data(await call('notes.read', { id: '2' })), [{ id: '2', title: 'Ideas', text: 'a hub for everything' }]);
    const missing = await call('notes.read', { id: 'nope' });
    const error = missing.find((i) => i.type === 'error') as { code?: string; message: string } | undefined;
    assert.equal(error?.code, 'transport_error', JSON.stringify(missing));
  });

  it('cli: grep waits for the owner, `hub approvals approve` lets it run, and it streams the matching lines', async () => {
    let id: string | undefined;
    const items = call('notes.files.grep', { pattern: 'milk' }, (item) => {
      if (item.type === 'progress') id = /apr_[0-9a-f]+/.exec(item.message)?.[0];
    });
    await eventually(() => id !== undefined, 20_000);
    const approved = await runHubCli(['approvals', 'approve', id!, '--data-dir', dataDir]);
    assert.equal(approved.code, 0, approved.stderr);
    assert.deepEqual(data(await items), [{ line: 'notes/todo.txt:1:buy milk' }]);
  });

  it('MCP: the capabilities are tools of the token; a read call answers', async () => {
    const client = new Client({ name: 'notes-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${hub.port}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(
        names.filter((n) => n.startsWith('notes.')),
        ['notes.files.grep', 'notes.guide', 'notes.list', 'notes.overview', 'notes.read'],
      );
      const result = (await client.callTool({ name: 'notes.read', arguments: { id: '1' } })) as {
        isError?: boolean;
        content: { text: string }[];
      };
      seen.push(result);
      assert.notEqual(result.isError, true);
      assert.match(result.content.map((c) => c.text).join('\n'), /milk, bread/);
    } finally {
      await client.close();
    }
  });

  it('the secret is nowhere but the service: not in an item, the hub output or the audit log', async () => {
    assert.ok(seen.length > 0);
    assert.doesNotMatch(JSON.stringify(seen), new RegExp(SECRET));
    assert.doesNotMatch(hub.output(), new RegExp(SECRET));
    const audit = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8');
    assert.match(audit, /source\.install/);
    assert.match(audit, /notes\.files\.grep/);
    assert.doesNotMatch(audit, new RegExp(SECRET));
  });
});
