// Issue #28 §2 through the real processes that have no owner channel: `hub serve --stdio
// --token` and `hub mcp --token` cannot ask the owner, so a token's execute call is
// refused at once (`execute_not_approved`, reason `no_owner_channel`), saying how to
// get a channel. The attacker's angles: the direct call, the same call relayed through
// `<root>.call`, and an MCP tool call. Each must refuse without running the command
// (a marker file it would write stays absent), and the refusal is audited. A read
// method on the same token still answers, and `--allow-standing-execute` runs it.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { parseGrant } from '../../src/auth/grants.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';
import { StdioClient } from '../support/stdio-client.js';

const dir = mkdtempSync(join(tmpdir(), 'plexus-approvals-stdio-'));
const store = new TokenStore(dir);
const token = store.create({
  name: 'stdio-agent',
  hub: 'plexus',
  grants: ['bash.execute:execute', 'echo.*:read'].map((g) => parseGrant(g)),
}).token;
after(() => rmSync(dir, { recursive: true, force: true }));

/** A command that leaves `file` behind if it ever runs. */
const touching = (file: string) => ({ command: `echo ran > ${file}`, timeout_ms: 10_000 });

/** The audit log's `approval` records (stdio hubs write them synchronously enough: polled). */
function refusals(): { outcome: string; reason: string; path: string }[] {
  const log = join(dir, 'audit.jsonl');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.event === 'approval');
}

const NO_CHANNEL = /needs the owner's approval per call, and this hub \(on stdio\) has no way to ask.*--allow-standing-execute/;

describe('no owner channel: execute refused at once by the real stdio processes', () => {
  it('hub serve --stdio --token: bash.execute and plexus.call → bash.execute end in execute_not_approved; nothing ran', async () => {
    const marker = join(dir, 'serve-direct');
    const relayed = join(dir, 'serve-relayed');
    const client = StdioClient.start(['--with', 'bash', '--data-dir', dir, '--token', token]);
    try {
      await client.started();
      for (const [method, params] of [
        ['bash.execute', touching(marker)],
        ['plexus.call', { method: 'bash.execute', params: touching(relayed) }],
      ] as const) {
        const sub = await client.call(method, params);
        // The error item, then its done (which may come in a later line).
        await client.waitFor((f) => f.params?.subscription === sub && f.params.result.type === 'done');
        const items = client.items(sub);
        const error = items.find((i) => i.type === 'error');
        assert.ok(error, `${method}: no error item in ${JSON.stringify(items)}`);
        assert.equal(error.code, 'execute_not_approved', method);
        assert.equal(error.details?.reason, 'no_owner_channel', method);
        assert.match(error.message, NO_CHANNEL);
        assert.equal(items.at(-1).type, 'done', `${method}: the stream ends with done`);
        assert.ok(!items.some((i) => i.type === 'data'), `${method}: no data before the refusal`);
      }
      // The token still reads: the refusal is about execute, not the credential.
      const echo = await client.itemsToEnd(await client.call('echo.once', { message: 'still here' }));
      assert.equal(echo[0].type, 'data');
    } finally {
      await client.stop();
    }
    assert.ok(!existsSync(marker) && !existsSync(relayed), 'a refused command ran anyway');
    const records = refusals().filter((r) => r.path === 'bash.execute');
    assert.ok(records.length >= 2, `two audited refusals, got ${JSON.stringify(records)}`);
    for (const r of records) assert.deepEqual([r.outcome, r.reason], ['refused', 'no owner channel']);
  });

  it('hub mcp --token: the bash.execute tool answers isError with the reason; nothing ran', async () => {
    const marker = join(dir, 'mcp');
    const client = new Client({ name: 'stdio-agent', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [HUB_BIN, 'mcp', '--with', 'bash', '--data-dir', dir, '--token', token],
        cwd: REPO_ROOT,
        stderr: 'ignore',
      }),
    );
    try {
      const { tools } = await client.listTools();
      assert.ok(
        tools.some((t) => t.name === 'bash.execute'),
        'the granted tool is listed',
      );
      const answer = (await client.callTool({ name: 'bash.execute', arguments: touching(marker) })) as {
        isError?: boolean;
        content: { text: string }[];
      };
      assert.equal(answer.isError, true);
      assert.match(answer.content[0]!.text, NO_CHANNEL);
      const echo = (await client.callTool({ name: 'echo.once', arguments: { message: 'hi' } })) as { isError?: boolean };
      assert.notEqual(echo.isError, true);
    } finally {
      await client.close().catch(() => {});
    }
    assert.ok(!existsSync(marker), 'a refused command ran anyway');
  });

  it('hub serve --stdio --token --allow-standing-execute: the same call runs', async () => {
    const marker = join(dir, 'standing');
    const client = StdioClient.start(['--no-builtins', '--with', 'bash', '--data-dir', dir, '--token', token, '--allow-standing-execute']);
    try {
      await client.started();
      const items = await client.itemsToEnd(await client.call('bash.execute', touching(marker)));
      assert.ok(!items.some((i) => i.type === 'error'), JSON.stringify(items));
    } finally {
      await client.stop();
    }
    assert.equal(readFileSync(marker, 'utf8'), 'ran\n');
  });
});
