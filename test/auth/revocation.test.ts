// Issue 21 item 5: revoking a token (`hub token revoke` from another process), a token
// expiring, or a `:ttl` grant ending stops that principal's running streams within
// about a second, each ending with an `error` item (-32001) then `done`; the process
// of a cancelled bash call is gone.
//
// | transport         | covered | how                                                                |
// |-------------------|---------|--------------------------------------------------------------------|
// | WebSocket         | yes     | bash.execute + changelog.watch revoked; token expiry; :ttl grant   |
// | stdio --token     | yes     | `hub serve --stdio --token`, bash.execute revoked                  |
// | MCP HTTP          | yes     | tools/call bash.execute revoked: an isError result, process gone   |
// | MCP stdio         | yes     | `hub mcp --token`: tools/call bash.execute revoked                 |
// | <root>.call       | in proc | the outer call and the inner one are both stopped (last describe)  |
// | through a mount   | yes     | test/federation/mount-revocation.test.ts: WebSocket, MCP HTTP, a   |
// |                   |         | joined child, stdio --token and MCP stdio, expiry, :ttl            |
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenPrincipal } from '../../src/auth/principal.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, type StreamItem } from '../../src/index.js';
import { assertEndsRefused, eventually, tick } from '../support/helpers.js';
import { startHub, type HubProcess } from '../support/hub-process.js';
import { assertGone, SKIP_NO_PROC } from '../support/processes.js';
import { RawClient } from '../support/raw-client.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';
import { endless } from '../support/endless.js';

/** "About a second": the store is re-read at most every 200 ms and running calls checked every 250 ms. */
const WITHIN_MS = 1200;

const dir = mkdtempSync(join(tmpdir(), 'plexus-revoke-'));
const store = new TokenStore(dir);
// One hub per data dir (its audit log is locked): the stdio hubs, started while the
// WebSocket hub runs on `dir`, get a data dir of their own.
const stdioDir = mkdtempSync(join(tmpdir(), 'plexus-revoke-stdio-'));
const stdioStore = new TokenStore(stdioDir);

/**
 * A bash command that writes its host pid to `file` and then prints a line every 50 ms,
 * forever (`$$` would be a namespace pid: commands run in a PID namespace of their own).
 */
function looping(file: string): string {
  return `read p _ < /proc/self/stat; echo $p > ${file}; while :; do echo tick; sleep 0.05; done`;
}

function pidIn(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

async function revoke(name: string, dataDir = dir): Promise<number> {
  await promisify(execFile)(process.execPath, [HUB_BIN, 'token', 'revoke', name, '--data-dir', dataDir], { cwd: REPO_ROOT });
  return Date.now();
}

describe('revocation stops running streams', { skip: SKIP_NO_PROC }, () => {
  let hub: HubProcess;
  const stdioToken = (name: string, grants: string[]) =>
    stdioStore.create({ name, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) }).token;
  const token = (name: string, grants: string[], ttlMs?: number) =>
    store.create({ name, hub: 'plexus', grants: grants.map((g) => parseGrant(g)), ...(ttlMs !== undefined ? { ttlMs } : {}) }).token;

  before(async () => {
    token('admin', ['echo.*:read']);
    // Running calls are revoked here; holding them for approval first is approvals.test.ts's.
    hub = await startHub({ args: ['--data-dir', dir, '--with', 'bash,changelog', '--allow-standing-execute'] });
  });
  after(async () => {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(stdioDir, { recursive: true, force: true });
  });

  /** Connects with token `t`, once the hub has re-read its store and knows the new token (a 401 until then). */
  async function wsClient(t: string): Promise<RawClient> {
    const until = Date.now() + 5000;
    for (;;) {
      try {
        return await RawClient.open(hub.url, { headers: { authorization: `Bearer ${t}` } });
      } catch (err) {
        // 401 until the hub re-reads its store; those failures may get the address
        // throttled (429), which a valid token passes once the hub knows it.
        if (!/401|429/.test(String(err)) || Date.now() > until) throw err;
        await tick(50);
      }
    }
  }

  async function waitTerminal(client: RawClient, sub: number, ms = 5000): Promise<any[]> {
    await client.waitFor((f) => f.params?.subscription === sub && f.params.result.type === 'done', ms);
    return client.items(sub);
  }

  it('WebSocket: `hub token revoke` ends bash.execute and changelog.watch with -32001 then done; bash is gone', async () => {
    const pidFile = join(dir, 'ws.pid');
    const client = await wsClient(token('ws-shell', ['bash.execute:execute', 'changelog.watch:read']));
    try {
      const shell = await client.call('bash.execute', { command: looping(pidFile), timeout_ms: 60_000 });
      const watch = await client.call('changelog.watch', {});
      await client.waitFor((f) => f.params?.subscription === shell && f.params.result.content?.line === 'tick');
      const pid = pidIn(pidFile);
      const revokedAt = await revoke('ws-shell');
      const [shellItems, watchItems] = await Promise.all([waitTerminal(client, shell), waitTerminal(client, watch)]);
      assert.ok(Date.now() - revokedAt < WITHIN_MS, `took ${Date.now() - revokedAt} ms`);
      assertEndsRefused(shellItems, /Authentication required: the token was revoked/);
      assertEndsRefused(watchItems, /Authentication required: the token was revoked/);
      await assertGone([pid]);
      // Nothing more arrives on either stream, and a new call is refused as well.
      const again = await client.call('bash.execute', { command: 'echo ran' });
      const refused = await client.itemsToEnd(again);
      assert.equal(refused[0].code, '-32001');
      assert.deepEqual([client.items(shell).length, client.items(watch).length], [shellItems.length, watchItems.length]);
    } finally {
      client.close();
    }
  });

  it('WebSocket: a token expiring ends its running stream the same way', async () => {
    const pidFile = join(dir, 'expiry.pid');
    const client = await wsClient(token('expiring', ['bash.execute:execute'], 6000));
    const expiresAt = store.records().find((r) => r.name === 'expiring')!.expiresAt!;
    try {
      const shell = await client.call('bash.execute', { command: looping(pidFile), timeout_ms: 60_000 });
      await client.waitFor((f) => f.params?.subscription === shell && f.params.result.content?.line === 'tick');
      const pid = pidIn(pidFile);
      const items = await waitTerminal(client, shell, 15_000);
      assert.ok(Date.now() - expiresAt < WITHIN_MS, `took ${Date.now() - expiresAt} ms after expiry`);
      assertEndsRefused(items, /Authentication required: the token has expired/);
      await assertGone([pid]);
    } finally {
      client.close();
    }
  });

  it('WebSocket: a :ttl grant ending ends the calls it allowed; the token and its other grants still work', async () => {
    const pidFile = join(dir, 'ttl.pid');
    const client = await wsClient(token('ttl-grant', ['bash.execute:execute:ttl=6s', 'echo.*:read']));
    const grantEnds = store.records().find((r) => r.name === 'ttl-grant')!.grants[0]!.expiresAt!;
    try {
      const shell = await client.call('bash.execute', { command: looping(pidFile), timeout_ms: 60_000 });
      await client.waitFor((f) => f.params?.subscription === shell && f.params.result.content?.line === 'tick');
      const pid = pidIn(pidFile);
      const items = await waitTerminal(client, shell, 15_000);
      assert.ok(Date.now() - grantEnds < WITHIN_MS, `took ${Date.now() - grantEnds} ms after the grant ended`);
      assertEndsRefused(items, /Authentication required: the grant for bash\.execute has expired/);
      await assertGone([pid]);
      const echo = await client.itemsToEnd(await client.call('echo.echo', { message: 'still here' }));
      assert.equal(echo[0].type, 'data');
    } finally {
      client.close();
    }
  });

  it('stdio with --token: `hub token revoke` ends bash.execute with -32001 then done; bash is gone', async () => {
    const pidFile = join(dir, 'stdio.pid');
    const t = stdioToken('stdio-shell', ['bash.execute:execute']);
    const child: ChildProcess = spawn(
      process.execPath,
      [HUB_BIN, 'serve', '--stdio', '--no-builtins', '--with', 'bash', '--data-dir', stdioDir, '--token', t, '--allow-standing-execute'],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const frames: any[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => frames.push(JSON.parse(l)));
      child.stdin!.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'bash.execute', params: { command: looping(pidFile), timeout_ms: 60_000 } } })}\n`,
      );
      const items = () => frames.filter((f) => f.params?.result).map((f) => f.params.result);
      await eventually(() => items().some((i) => i.content?.line === 'tick'), 15_000);
      const pid = pidIn(pidFile);
      const revokedAt = await revoke('stdio-shell', stdioDir);
      await eventually(() => items().some((i) => i.type === 'done'), 5000);
      assert.ok(Date.now() - revokedAt < WITHIN_MS, `took ${Date.now() - revokedAt} ms`);
      assertEndsRefused(items(), /Authentication required: the token was revoked/);
      await assertGone([pid]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('MCP HTTP: `hub token revoke` ends a running bash.execute tool call with an error result; bash is gone', async () => {
    const pidFile = join(dir, 'mcp.pid');
    const t = token('mcp-shell', ['bash.execute:execute']);
    const client = new Client({ name: 'mcp-shell', version: '1.0.0' });
    const mcpUrl = new URL(`http://127.0.0.1:${hub.port}/mcp`);
    // The hub knows a new token once it has re-read its store.
    for (const until = Date.now() + 5000; ; await tick(20)) {
      const probe = await fetch(mcpUrl, { method: 'GET', headers: { authorization: `Bearer ${t}` } });
      await probe.arrayBuffer();
      if (probe.status !== 401 || Date.now() > until) break;
    }
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${t}` } } }));
    try {
      const result = client.callTool({ name: 'bash.execute', arguments: { command: looping(pidFile), timeout_ms: 60_000 } });
      await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 10_000);
      const pid = pidIn(pidFile);
      const revokedAt = await revoke('mcp-shell');
      const answer = (await result) as { isError?: boolean; content: { text: string }[] };
      assert.ok(Date.now() - revokedAt < WITHIN_MS, `took ${Date.now() - revokedAt} ms`);
      assert.equal(answer.isError, true);
      assert.match(answer.content[0]!.text, /Authentication required: the token was revoked/);
      await assertGone([pid]);
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('MCP stdio (`hub mcp --token`): `hub token revoke` ends a running bash.execute tool call with an error result; bash is gone', async () => {
    const pidFile = join(dir, 'mcp-stdio.pid');
    const t = stdioToken('mcp-stdio-shell', ['bash.execute:execute']);
    const client = new Client({ name: 'mcp-stdio-shell', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [HUB_BIN, 'mcp', '--no-builtins', '--with', 'bash', '--data-dir', stdioDir, '--token', t, '--allow-standing-execute'],
        cwd: REPO_ROOT,
        stderr: 'ignore',
      }),
    );
    try {
      const result = client.callTool({ name: 'bash.execute', arguments: { command: looping(pidFile), timeout_ms: 60_000 } });
      await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 15_000);
      const pid = pidIn(pidFile);
      const revokedAt = await revoke('mcp-stdio-shell', stdioDir);
      const answer = (await result) as { isError?: boolean; content: { text: string }[] };
      assert.ok(Date.now() - revokedAt < WITHIN_MS, `took ${Date.now() - revokedAt} ms`);
      assert.equal(answer.isError, true);
      assert.match(answer.content[0]!.text, /Authentication required: the token was revoked/);
      await assertGone([pid]);
    } finally {
      await client.close().catch(() => {});
    }
  });
});

describe('revocation in process: what the watch holds, and calls relayed through <root>.call', () => {
  it('an endless stream is stopped (its finally runs), <root>.call too, and the watch holds nothing after', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'plexus-revoke-unit-'));
    const local = new TokenStore(dataDir);
    const { record } = local.create({ name: 'ticker', hub: 'plexus', grants: [parseGrant('endless.ticks:read')] });
    const auth = new HubAuth({ hub: 'plexus', dataDir, revocationCheckMs: 20 });
    let released = 0;
    const hub = new DynamicHub('plexus', { policy: auth }).register(endless({ onFinally: () => released++ }));
    try {
      const caller = new TokenPrincipal(local, record, 'test', 'test');
      const direct = hub.call('endless.ticks', {}, { principal: caller });
      const viaRoot = hub.call('plexus.call', { method: 'endless.ticks' }, { principal: caller });
      const seen: StreamItem[][] = [[], []];
      const drain = [direct, viaRoot].map(async (s, i) => {
        for await (const item of s) seen[i]!.push(item);
      });
      await eventually(() => seen.every((s) => s.length > 3));
      assert.equal(auth.revocations!.size, 3); // the two calls and the inner call of plexus.call
      local.revoke('ticker');
      await Promise.all(drain);
      for (const items of seen) assertEndsRefused(items, /the token was revoked/);
      await eventually(() => released === 2);
      assert.equal(auth.revocations!.size, 0);
      // Nothing keeps producing after the end.
      const counts = seen.map((s) => s.length);
      await tick(50);
      assert.deepEqual(
        seen.map((s) => s.length),
        counts,
      );
    } finally {
      auth.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
