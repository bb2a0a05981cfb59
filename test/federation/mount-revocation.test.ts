// Issue #21, gap 2: revocation through a mount. A principal's running stream that goes
// through hub A's mount to hub B is cancelled within about a second when A revokes the
// token, the token expires, or the `:ttl` grant that allowed it ends: the caller reads
// `-32001` then `done`, and B's producer is released (its `finally` runs, seen on B).
//
// | ending                 | WebSocket | MCP HTTP (tools/call) | through a joined child (WebSocket) |
// |------------------------|-----------|-----------------------|------------------------------------|
// | token revoked          |     x     |           x           |                 x                  |
// | revoked, `hub serve --stdio --token --mount` and `hub mcp --token --mount` (real processes) |
// | token expired          |     x     |                       |                                    |
// | `:ttl` grant ended     |     x     |                       |                                    |
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  acceptJoins,
  DynamicHub,
  HubAuth,
  JoinBindings,
  joinParent,
  mountRemote,
  parseGrant,
  serveWebSocket,
  TokenStore,
  type JoinHandle,
  type PlexusServer,
} from '../../src/index.js';
import { mcpHttpHandler } from '../../src/mcp/http.js';
import { endless } from '../support/endless.js';
import { until } from '../support/federation.js';
import { assertEndsRefused, eventually } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';

/** "About a second": A re-reads its store at most every 200 ms and checks running calls every 250 ms; the rest is slack for a loaded machine. */
const WITHIN_MS = 1500;

describe('revocation through a mount stops the stream on both hubs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-mount-revoke-'));
  const store = new TokenStore(dir);
  /** A data dir of its own for each hub process below (one hub per audit log). */
  const stdioDir = mkdtempSync(join(tmpdir(), 'plexus-mount-revoke-stdio-'));
  const stdioStore = new TokenStore(stdioDir);
  const mcpStdioDir = mkdtempSync(join(tmpdir(), 'plexus-mount-revoke-mcp-'));
  const mcpStdioStore = new TokenStore(mcpStdioDir);
  // A store with a token in it: A requires auth.
  store.create({ name: 'bystander', hub: 'plexus', grants: [parseGrant('far.endless.schema:read')] });
  /** B's producers: started and released (their `finally` ran). */
  const b = { started: 0, released: 0 };
  /** The same, on the hub that joined A as `edge`. */
  const edge = { started: 0, released: 0 };
  let joined: JoinHandle;
  let acceptor: ReturnType<typeof acceptJoins>;
  let remote: PlexusServer;
  let server: PlexusServer;
  let auth: HubAuth;

  before(async () => {
    const bHub = new DynamicHub('remote').register(endless({ intervalMs: 20, onStart: () => b.started++, onFinally: () => b.released++ }));
    remote = await serveWebSocket(bHub, { port: 0 });
    auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 } });
    const hub = new DynamicHub('plexus', { policy: auth });
    mountRemote(hub, 'far', remote.url, { watchMs: 0 });
    acceptor = acceptJoins(hub, { watchMs: 0, bindings: JoinBindings.in(dir) });
    const mcp = mcpHttpHandler(hub);
    server = await serveWebSocket(hub, { port: 0, takeOver: acceptor.takeOver, http: (req, res) => mcp(req, res) });
    mcp.bind(server.host, server.port);
    const joiner = store.create({ name: 'edge', hub: 'plexus', grants: [parseGrant('_join.edge')] }).token;
    const edgeHub = new DynamicHub('edge').register(
      endless({ intervalMs: 20, onStart: () => edge.started++, onFinally: () => edge.released++ }),
    );
    // Until A has re-read its store the upgrade is refused (401); the child dials again.
    joined = joinParent(edgeHub, server.url, { name: 'edge', token: joiner, backoffMs: 50 });
    await joined.joined;
    await eventually(() => acceptor.mounts.get('edge')?.connected === true, 20_000);
    await hub.ready();
  });
  after(async () => {
    await joined?.close();
    acceptor?.close();
    await server.close({ graceMs: 0 });
    await remote.close({ graceMs: 0 });
    auth.close();
    for (const d of [dir, stdioDir, mcpStdioDir]) rmSync(d, { recursive: true, force: true });
  });

  /** Connects with `token` once A has re-read its store and knows it (a 401 until then). */
  async function wsClient(token: string): Promise<RawClient> {
    return until(() => RawClient.open(server.url, { headers: { authorization: `Bearer ${token}` } }), 5000);
  }

  /** Starts `far.endless.ticks` on the WebSocket and waits until B produces and A relays. */
  async function ticking(client: RawClient): Promise<number> {
    const releasedBefore = b.released;
    const sub = await client.call('far.endless.ticks', {});
    await client.waitFor((f) => f.params?.subscription === sub && f.params.result.type === 'data' && f.params.result.content >= 3);
    assert.equal(b.released, releasedBefore, "B's producer is running");
    return sub;
  }

  async function ended(client: RawClient, sub: number, ms = 10_000): Promise<any[]> {
    await client.waitFor((f) => f.params?.subscription === sub && f.params.result.type === 'done', ms);
    return client.items(sub);
  }

  it('WebSocket: revoking the token ends it with -32001 then done within about a second; B releases its producer', async () => {
    const { token } = store.create({ name: 'revoked', hub: 'plexus', grants: [parseGrant('far.endless.ticks:read')] });
    const client = await wsClient(token);
    try {
      const released = b.released;
      const sub = await ticking(client);
      const revokedAt = Date.now();
      store.revoke('revoked');
      const items = await ended(client, sub);
      const took = Date.now() - revokedAt;
      assert.ok(took < WITHIN_MS, `took ${took} ms`);
      assertEndsRefused(items, /Authentication required: the token was revoked/);
      await eventually(() => b.released === released + 1, WITHIN_MS);
      // Nothing more arrives, and a new call through the mount is refused before it reaches B.
      const started = b.started;
      const again = await client.itemsToEnd(await client.call('far.endless.ticks', {}));
      assert.equal(again[0].code, '-32001');
      assert.equal(b.started, started);
      assert.equal(client.items(sub).length, items.length);
    } finally {
      client.close();
    }
  });

  it('through a joined child: revoking the token ends the stream with -32001 then done; the child releases its producer', async () => {
    const { token } = store.create({ name: 'edge-caller', hub: 'plexus', grants: [parseGrant('edge.endless.ticks:read')] });
    const client = await wsClient(token);
    try {
      const released = edge.released;
      const sub = await client.call('edge.endless.ticks', {});
      await client.waitFor((f) => f.params?.subscription === sub && f.params.result.type === 'data' && f.params.result.content >= 3);
      assert.equal(edge.released, released);
      const revokedAt = Date.now();
      store.revoke('edge-caller');
      const items = await ended(client, sub);
      const took = Date.now() - revokedAt;
      assert.ok(took < WITHIN_MS, `took ${took} ms`);
      assertEndsRefused(items, /Authentication required: the token was revoked/);
      await eventually(() => edge.released === released + 1, WITHIN_MS);
    } finally {
      client.close();
    }
  });

  it('WebSocket: the token expiring ends it the same way; B releases its producer', async () => {
    const { token, record } = store.create({
      name: 'expiring',
      hub: 'plexus',
      grants: [parseGrant('far.endless.ticks:read')],
      ttlMs: 3000,
    });
    const client = await wsClient(token);
    try {
      const released = b.released;
      const sub = await ticking(client);
      const items = await ended(client, sub);
      const late = Date.now() - record.expiresAt!;
      assert.ok(late < WITHIN_MS, `ended ${late} ms after the expiry`);
      assertEndsRefused(items, /Authentication required: the token has expired/);
      await eventually(() => b.released === released + 1, WITHIN_MS);
    } finally {
      client.close();
    }
  });

  it('WebSocket: a :ttl grant ending ends the stream it allowed; B releases its producer', async () => {
    const { token, record } = store.create({
      name: 'ttl-grant',
      hub: 'plexus',
      grants: [parseGrant('far.endless.ticks:read:ttl=3s'), parseGrant('far.endless.schema:read')],
    });
    const client = await wsClient(token);
    try {
      const released = b.released;
      const sub = await ticking(client);
      const items = await ended(client, sub);
      const late = Date.now() - record.grants[0]!.expiresAt!;
      assert.ok(late < WITHIN_MS, `ended ${late} ms after the grant`);
      assertEndsRefused(items, /Authentication required: the grant for far\.endless\.ticks has expired/);
      await eventually(() => b.released === released + 1, WITHIN_MS);
    } finally {
      client.close();
    }
  });

  it('MCP HTTP: revoking the token ends a running tools/call through the mount with an error result; B releases its producer', async () => {
    const { token } = store.create({ name: 'mcp-revoked', hub: 'plexus', grants: [parseGrant('far.endless.ticks:read')] });
    const mcpUrl = new URL(`http://127.0.0.1:${server.port}/mcp`);
    // A knows a new token once it has re-read its store.
    await until(async () => {
      const probe = await fetch(mcpUrl, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
      await probe.arrayBuffer();
      assert.notEqual(probe.status, 401);
    }, 5000);
    const client = new Client({ name: 'mcp-revoked', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      const started = b.started;
      const released = b.released;
      const result = client.callTool({ name: 'far.endless.ticks', arguments: {} });
      await eventually(() => b.started === started + 1, 5000);
      const revokedAt = Date.now();
      store.revoke('mcp-revoked');
      const answer = (await result) as { isError?: boolean; content: { text: string }[] };
      const took = Date.now() - revokedAt;
      assert.ok(took < WITHIN_MS, `took ${took} ms`);
      assert.equal(answer.isError, true);
      assert.match(answer.content.at(-1)!.text, /Authentication required: the token was revoked/);
      await eventually(() => b.released === released + 1, WITHIN_MS);
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('stdio (`hub serve --stdio --token --mount`): `hub token revoke` ends the relayed stream with -32001 then done; B releases its producer', async () => {
    const { token } = stdioStore.create({ name: 'stdio-revoked', hub: 'plexus', grants: [parseGrant('far.endless.ticks:read')] });
    const child = spawn(
      process.execPath,
      [HUB_BIN, 'serve', '--stdio', '--no-builtins', '--data-dir', stdioDir, '--token', token, '--mount', `far=${remote.url}`],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const frames: any[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => frames.push(JSON.parse(l)));
      const released = b.released;
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'far.endless.ticks' } })}\n`);
      const items = () => frames.filter((f) => f.params?.result).map((f) => f.params.result);
      await eventually(() => items().some((i) => i.type === 'data' && i.content >= 3), 20_000);
      const revokedAt = Date.now();
      stdioStore.revoke('stdio-revoked');
      await eventually(() => items().some((i) => i.type === 'done'), 5000);
      assert.ok(Date.now() - revokedAt < WITHIN_MS, `took ${Date.now() - revokedAt} ms`);
      assertEndsRefused(items(), /Authentication required: the token was revoked/);
      await eventually(() => b.released === released + 1, WITHIN_MS);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('MCP stdio (`hub mcp --token --mount`): `hub token revoke` ends the relayed tools/call with an error result; B releases its producer', async () => {
    const { token } = mcpStdioStore.create({ name: 'mcp-stdio-revoked', hub: 'plexus', grants: [parseGrant('far.endless.ticks:read')] });
    const client = new Client({ name: 'mcp-stdio-revoked', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [HUB_BIN, 'mcp', '--no-builtins', '--data-dir', mcpStdioDir, '--token', token, '--mount', `far=${remote.url}`],
        cwd: REPO_ROOT,
        stderr: 'ignore',
      }),
    );
    try {
      const started = b.started;
      const released = b.released;
      const result = client.callTool({ name: 'far.endless.ticks', arguments: {} });
      await eventually(() => b.started === started + 1, 10_000);
      const revokedAt = Date.now();
      mcpStdioStore.revoke('mcp-stdio-revoked');
      const answer = (await result) as { isError?: boolean; content: { text: string }[] };
      assert.ok(Date.now() - revokedAt < WITHIN_MS, `took ${Date.now() - revokedAt} ms`);
      assert.equal(answer.isError, true);
      assert.match(answer.content.at(-1)!.text, /Authentication required: the token was revoked/);
      await eventually(() => b.released === released + 1, WITHIN_MS);
    } finally {
      await client.close().catch(() => {});
    }
  });
});
