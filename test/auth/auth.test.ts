// Auth end to end: every attack class from issue #12, each asserting the refusal AND
// that nothing ran (the fixture's methods record every run), over WebSocket, stdio,
// MCP over streamable HTTP and MCP over stdio, with the same rules.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { verifyAuditLog } from '../../src/auth/audit-verify.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, PlexusClient, type PlexusServer, type StreamItem } from '../../src/index.js';
import { mcpHttpHandler } from '../../src/mcp/http.js';
import { discoveryHandler } from '../../src/transport/discovery.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { ran, Shell, Vault } from '../fixtures/guarded.js';
import { REPO_ROOT as root } from '../support/repo.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tokens {
  reader: string;
  writer: string;
  wild: string;
  exec: string;
  expired: string;
  revoked: string;
  otherHub: string;
  doomed: string;
}

/** A data dir with one token per attack class. */
function makeStore(): { dir: string; store: TokenStore; tokens: Tokens } {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-auth-e2e-'));
  const store = new TokenStore(dir);
  const make = (name: string, grants: string[], extra: { hub?: string; ttlMs?: number; now?: number } = {}) =>
    store.create({ name, hub: extra.hub ?? 'plexus', grants: grants.map((g) => parseGrant(g)), ...extra }).token;
  const tokens: Tokens = {
    reader: make('reader', ['vault.*:read']),
    writer: make('writer', ['vault.*:read,write']),
    // As if hand-edited into the store: a wildcard that claims execute (parseGrant refuses to make one).
    wild: store.create({ name: 'wild', hub: 'plexus', grants: [{ pattern: '**', verbs: ['read', 'write', 'execute'] }] }).token,
    exec: make('exec', ['shell.execute:execute:once', 'shell.list:read']),
    expired: make('old', ['**:read'], { ttlMs: 1000, now: Date.now() - 60_000 }),
    revoked: make('gone', ['**:read']),
    otherHub: make('elsewhere', ['**:read'], { hub: 'otherhub' }),
    doomed: make('doomed', ['vault.*:read']),
  };
  store.revoke('gone');
  return { dir, store, tokens };
}

const connect = (url: string, token?: string) => new PlexusClient({ url, connectAttempts: 1, ...(token ? { token } : {}) });

async function items(client: PlexusClient, path: string, params: Record<string, unknown> = {}): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const item of client.call(path, params)) out.push(item);
  return out;
}

function errorOf(list: StreamItem[]): { code?: string; message: string } | undefined {
  return list.find((i) => i.type === 'error') as { code?: string; message: string } | undefined;
}

/** The HTTP status of a WebSocket upgrade and its body. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

/** One plain JSON-RPC request over a raw connection with no credential; its answer. */
function rawRequest(
  url: string,
  method: string,
  params: unknown,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id === 1) {
        ws.close();
        resolve(msg);
      }
    });
  });
}

/** The `_info` item's content, over a raw connection with no credential. */
function infoOf(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: '_info' })));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.params?.result?.type === 'data') {
        ws.close();
        resolve(msg.params.result.content);
      }
    });
  });
}

describe('auth over WebSocket', () => {
  let env: ReturnType<typeof makeStore>;
  let auth: HubAuth;
  let hub: DynamicHub;
  let server: PlexusServer;
  /** Everything the server said to clients, to check no credential leaks into it. */
  const seen: string[] = [];

  before(async () => {
    env = makeStore();
    auth = new HubAuth({ hub: 'plexus', dataDir: env.dir, limiter: { burst: 1000 }, approvals: { standing: true } }); // grants, not approvals (approvals.test.ts)
    hub = new DynamicHub('plexus', { policy: auth }).register(new Vault(), new Shell());
    await hub.ready();
    const mcp = mcpHttpHandler(hub);
    const discovery = discoveryHandler(hub, { mcpPath: '/mcp' });
    server = await serveWebSocket(hub, { port: 0, http: (req, res) => discovery(req, res) || mcp(req, res) });
    mcp.bind(server.host, server.port);
  });
  after(async () => {
    await server.close({ graceMs: 0 });
    auth.close();
  });
  beforeEach(() => {
    ran.length = 0;
  });

  async function as(token: string | undefined, path: string, params: Record<string, unknown> = {}): Promise<StreamItem[]> {
    const client = connect(server.url, token);
    try {
      const list = await items(client, path, params);
      seen.push(JSON.stringify(list));
      return list;
    } finally {
      client.close();
    }
  }

  it('no token: every call and schema is -32001, only _info answers (and advertises bearer); nothing ran', async () => {
    const call = await as(undefined, 'vault.peek', { key: 'a' });
    assert.deepEqual(errorOf(call), {
      ...errorOf(call),
      code: '-32001',
      message: 'Authentication required: present a token as "Authorization: Bearer <token>"',
    });
    const client = connect(server.url);
    try {
      await assert.rejects(client.schema(), (e: Error & { code?: number }) => e.code === -32001);
      await assert.rejects(client.hash(), (e: Error & { code?: number }) => e.code === -32001);
      assert.deepEqual(await infoOf(server.url), {
        backend: 'plexus',
        auth_capabilities: {
          mechanisms: [
            { kind: 'bearer', header: 'Authorization', query_param: 'token' },
            { kind: 'enrollment', ws_method: '_enroll', http_path: '/enroll' },
          ],
        },
      });
    } finally {
      client.close();
    }
    // Nor may it answer another call's mid-stream question.
    const respond = await rawRequest(server.url, 'plexus.respond', {
      request_id: '00000000-0000-4000-8000-000000000000',
      response_data: true,
    });
    assert.deepEqual(respond.error?.code, -32001);
    assert.deepEqual(ran, []);
  });

  it("a revoked, an expired, another hub's and a made-up token are refused at the upgrade with 401; nothing ran", async () => {
    for (const [token, reason] of [
      [env.tokens.revoked, 'the token was revoked'],
      [env.tokens.expired, 'the token has expired'],
      [env.tokens.otherHub, 'the token was issued for another hub'],
      ['phub_made_up', 'the token is not known to this hub'],
    ] as const) {
      const r = await upgrade(server.url, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 401, reason);
      assert.deepEqual(JSON.parse(r.body).error, { code: -32001, message: `Authentication failed: ${reason}` });
      assert.ok(!r.body.includes(token));
      seen.push(r.body);
      await assert.rejects(items(connect(server.url, token), 'vault.peek', { key: 'a' }), /authentication failed \(HTTP 401\)/);
    }
    // The query parameter (for browsers) is checked the same way.
    assert.equal((await upgrade(`${server.url}/?token=${env.tokens.revoked}`)).status, 401);
    assert.equal((await upgrade(`${server.url}/?token=${env.tokens.reader}`)).status, 101);
    assert.deepEqual(ran, []);
  });

  it('a token revoked while its connection is open stops working on that connection', async () => {
    const client = connect(server.url, env.tokens.doomed);
    try {
      assert.equal(errorOf(await items(client, 'vault.peek', { key: 'a' })), undefined);
      new TokenStore(env.dir).revoke('doomed');
      await wait(250); // past the store's refresh interval (200 ms)
      ran.length = 0;
      const after = await items(client, 'vault.peek', { key: 'b' });
      assert.deepEqual(errorOf(after), { ...errorOf(after), code: '-32001', message: 'Authentication required: the token was revoked' });
    } finally {
      client.close();
    }
    assert.deepEqual(ran, []);
  });

  it('a grant for vault.* cannot reach shell.execute or a write method, and the refusal is indistinguishable from "not found"', async () => {
    const shell = errorOf(await as(env.tokens.reader, 'shell.execute', { command: 'rm -rf /' }));
    const nosuch = errorOf(await as(env.tokens.reader, 'nosuch.execute', { command: 'rm -rf /' }));
    assert.equal(shell?.message, 'Activation not found: shell');
    assert.equal(nosuch?.message, 'Activation not found: nosuch');
    assert.equal(shell?.code, nosuch?.code);
    const put = errorOf(await as(env.tokens.reader, 'vault.put', { key: 'a', value: 'b' }));
    const missing = errorOf(await as(env.tokens.reader, 'vault.nosuch', { key: 'a', value: 'b' }));
    assert.deepEqual([put?.code, put?.message], ['-32601', 'Method not found: vault.put']);
    assert.deepEqual([missing?.code, missing?.message], ['-32601', 'Method not found: vault.nosuch']);
    // Bad params on a hidden method are still "not found": validation never runs first.
    assert.equal(errorOf(await as(env.tokens.reader, 'vault.put', { wrong: 1 }))?.message, 'Method not found: vault.put');
    assert.deepEqual(ran, []);
    assert.equal(errorOf(await as(env.tokens.writer, 'vault.put', { key: 'a', value: 'b' })), undefined);
    assert.deepEqual(ran, ['vault.put a=b']);
  });

  it('a wildcard never covers execute, even one that claims it (** with execute)', async () => {
    assert.equal(errorOf(await as(env.tokens.wild, 'shell.execute', { command: 'ls' }))?.message, 'Method not found: shell.execute');
    assert.deepEqual(ran, []);
    assert.equal(errorOf(await as(env.tokens.wild, 'shell.list')), undefined);
    assert.deepEqual(ran, ['shell.list']);
  });

  it('a once grant works once; the second use is refused and does not run', async () => {
    const first = await as(env.tokens.exec, 'shell.execute', { command: 'ls' });
    assert.equal(errorOf(first), undefined);
    const second = await as(env.tokens.exec, 'shell.execute', { command: 'ls' });
    assert.equal(errorOf(second)?.message, 'Method not found: shell.execute');
    assert.deepEqual(ran, ['shell.execute ls']);
    // Still allowed: the standing grant next to it.
    assert.equal(errorOf(await as(env.tokens.exec, 'shell.list')), undefined);
  });

  it('<root>.call wrapping a denied path is refused for the inner path; nothing ran', async () => {
    const nested = await as(env.tokens.reader, 'plexus.call', { method: 'shell.execute', params: { command: 'ls' } });
    assert.equal(errorOf(nested)?.message, 'Activation not found: shell');
    const deeper = await as(env.tokens.reader, 'plexus.call', {
      method: 'plexus.call',
      params: { method: 'vault.put', params: { key: 'k', value: 'v' } },
    });
    assert.equal(errorOf(deeper)?.message, 'Method not found: vault.put');
    assert.deepEqual(ran, []);
    const allowed = await as(env.tokens.reader, 'plexus.call', { method: 'vault.peek', params: { key: 'k' } });
    assert.deepEqual(
      allowed.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content),
      ['value of k'],
    );
  });

  it('schemas show only what the principal may call; hidden paths are "not found", like missing ones', async () => {
    const client = connect(server.url, env.tokens.reader);
    try {
      const top = await client.schema();
      seen.push(JSON.stringify(top));
      assert.ok('children' in top);
      assert.deepEqual(
        top.children?.map((c) => c.namespace),
        ['vault'],
      );
      assert.deepEqual(
        top.methods.map((m) => m.name),
        ['call', 'hash', 'schema'],
      );
      const vault = await client.schema('vault');
      assert.ok('methods' in vault);
      assert.deepEqual(
        vault.methods.map((m) => m.name),
        ['peek', 'whoami', 'schema'],
      );
      const hidden = (await client.schema('shell').catch((e: Error) => e.message)) as string;
      const missing = (await client.schema('nosuch').catch((e: Error) => e.message)) as string;
      assert.equal(hidden, missing.replace('nosuch', 'shell'));
      const hiddenMethod = (await client.schema('vault.put').catch((e: Error) => e.message)) as string;
      const missingMethod = (await client.schema('vault.nope').catch((e: Error) => e.message)) as string;
      assert.equal(hiddenMethod, missingMethod.replace('nope', 'put'));
      const viaParam = errorOf(await items(client, 'vault.schema', { method: 'put' }));
      assert.equal(viaParam?.message, 'Method not found: vault.put');
    } finally {
      client.close();
    }
    // hub.schema() in process, for a principal, follows the same rules.
    const wild = auth.authenticate(env.tokens.wild, 'test', 'test');
    assert.ok(wild.ok);
    const wildSchema = await hub.schema('shell', { principal: wild.principal });
    assert.ok('methods' in wildSchema && wildSchema.methods.map((m) => m.name).join() === 'list,schema');
    assert.deepEqual(ran, []);
  });

  it("methods see ctx.principal; the done item carries the audit id of the call's record", async () => {
    const list = await as(env.tokens.reader, 'vault.whoami');
    assert.deepEqual((list[0] as { content: unknown }).content, 'reader');
    const done = list.at(-1)! as { metadata: object };
    const id = (done.metadata as { audit_id?: number }).audit_id;
    assert.equal(typeof id, 'number');
    auth.audit!.flush();
    const record = readFileSync(auth.audit!.file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((r) => r.seq === id);
    assert.equal(record.principal, 'reader');
    assert.equal(record.path, 'vault.whoami');
    assert.equal(record.outcome, 'ok');
    assert.equal(record.items, 1);
    assert.equal(record.transport, 'ws');
  });

  it('the audit log records calls, denials and failed authentications, redacts params, and verifies', async () => {
    await as(env.tokens.writer, 'vault.put', { key: 'api', value: 'v', password: 'hunter2' });
    await as(env.tokens.reader, 'shell.execute', { command: 'ls' });
    auth.audit!.flush();
    const records = readFileSync(auth.audit!.file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const put = records.findLast((r) => r.path === 'vault.put' && r.principal === 'writer');
    assert.equal(put.params.password, '[redacted]');
    assert.deepEqual(put.verbs, ['write']);
    const denied = records.findLast((r) => r.path === 'shell.execute' && r.principal === 'reader');
    assert.deepEqual([denied.outcome, denied.code], ['denied', -32601]);
    assert.ok(records.some((r) => r.event === 'auth' && r.outcome === 'auth_failed' && r.reason === 'revoked'));
    assert.ok(records.some((r) => r.outcome === 'unauthenticated'));
    const verdict = await verifyAuditLog(auth.audit!.file);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  });

  it('MCP over HTTP: no token is 401, tools/list is filtered, hidden tools are unknown, <root>.call re-checks; nothing ran', async () => {
    const url = new URL(`http://127.0.0.1:${server.port}/mcp`);
    const anon = new Client({ name: 'anon', version: '1.0.0' });
    await assert.rejects(anon.connect(new StreamableHTTPClientTransport(url)), /Authentication required/);
    const bad = new Client({ name: 'bad', version: '1.0.0' });
    await assert.rejects(
      bad.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${env.tokens.revoked}` } } })),
      /Authentication failed: the token was revoked/,
    );
    const raw = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    assert.equal(raw.status, 401);
    assert.equal(raw.headers.get('www-authenticate'), 'Bearer realm="plexus-hub"');
    const client = new Client({ name: 'reader', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${env.tokens.reader}` } } }),
    );
    try {
      const { tools } = await client.listTools();
      seen.push(JSON.stringify(tools));
      assert.deepEqual(tools.map((t) => t.name).sort(), ['plexus.call', 'plexus.hash', 'plexus.schema', 'vault.peek', 'vault.whoami']);
      await assert.rejects(client.callTool({ name: 'shell.execute', arguments: { command: 'ls' } }), /Unknown tool: shell.execute/);
      await assert.rejects(client.callTool({ name: 'vault.put', arguments: {} }), /Unknown tool: vault.put/);
      const wrapped = await client.callTool({ name: 'plexus.call', arguments: { method: 'shell.execute', params: { command: 'ls' } } });
      assert.equal(wrapped.isError, true);
      assert.deepEqual(wrapped.content, [{ type: 'text', text: 'Activation not found: shell' }]);
      const schema = await client.callTool({ name: 'plexus.schema', arguments: { path: 'shell' } });
      assert.equal(schema.isError, true);
      assert.deepEqual(ran, []);
      const ok = await client.callTool({ name: 'vault.whoami', arguments: {} });
      assert.deepEqual(ok.structuredContent, { result: 'reader' });
    } finally {
      await client.close();
    }
  });

  it('an MCP session stays bound to its token: another credential on its session id finds no session', async () => {
    const url = `http://127.0.0.1:${server.port}/mcp`;
    const headers = (token: string) => ({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    });
    const init = await fetch(url, {
      method: 'POST',
      headers: headers(env.tokens.reader),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    assert.equal(init.status, 200);
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const hijack = await fetch(url, {
      method: 'POST',
      headers: { ...headers(env.tokens.writer), 'mcp-session-id': session },
      body: JSON.stringify(list),
    });
    assert.equal(hijack.status, 404);
    assert.match(((await hijack.json()) as { error: { message: string } }).error.message, /^Session not found/);
  });

  it('GET /.well-known/plexus-hub describes the hub and its auth scheme, without the root hash when auth is on', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/.well-known/plexus-hub`);
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.deepEqual(doc, {
      name: 'plexus',
      protocol: 'plexus-rpc',
      jsonrpc: '2.0',
      version: '1.0.0',
      ws: `ws://127.0.0.1:${server.port}`,
      mcp: `http://127.0.0.1:${server.port}/mcp`,
      auth: { scheme: 'bearer', header: 'Authorization', query_param: 'token' },
      enroll: { http: `http://127.0.0.1:${server.port}/enroll`, ws_method: '_enroll' },
    });
  });

  it('no credential appears in any schema, error, answer or audit line', () => {
    auth.audit!.flush();
    const text = `${seen.join('\n')}\n${readFileSync(auth.audit!.file, 'utf8')}`;
    assert.ok(text.length > 1000);
    for (const [name, token] of Object.entries(env.tokens)) assert.ok(!text.includes(token), `${name}'s token leaked`);
  });
});

describe('failed-auth rate limit', () => {
  it('throttles an address after its burst of failures (429 for the next wrong token), and records it; a valid token still gets in', async () => {
    const env = makeStore();
    const auth = new HubAuth({ hub: 'plexus', dataDir: env.dir, limiter: { burst: 3, refillMs: 60_000 } });
    const hub = new DynamicHub('plexus', { policy: auth }).register(new Vault());
    const server = await serveWebSocket(hub, { port: 0 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await upgrade(server.url, { authorization: 'Bearer phub_guess' })).status, 401);
      const throttled = await upgrade(server.url, { authorization: 'Bearer phub_guess' });
      assert.equal(throttled.status, 429);
      assert.match(JSON.parse(throttled.body).error.message, /Too many failed authentications/);
      // Only failures are throttled: the credential is checked first, so a valid token from the same address opens.
      assert.equal((await upgrade(server.url, { authorization: `Bearer ${env.tokens.reader}` })).status, 101);
      // A connection without a credential is not an authentication attempt: it still opens (and can do nothing).
      assert.equal((await upgrade(server.url)).status, 101);
      auth.audit!.flush();
      const outcomes = readFileSync(auth.audit!.file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).outcome);
      assert.deepEqual(outcomes, ['auth_failed', 'auth_failed', 'auth_failed', 'throttled']);
    } finally {
      await server.close({ graceMs: 0 });
      auth.close();
    }
  });
});

/** Runs `hub serve --stdio` (args appended) and talks JSON-RPC lines to it. */
async function stdioHub(env: NodeJS.ProcessEnv, args: string[]) {
  const child = spawn(process.execPath, [`${root}bin/hub.js`, 'serve', '--stdio', '--no-builtins', ...args, 'test/fixtures/guarded.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdout! });
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  lines.on('line', (l) => {
    messages.push(JSON.parse(l));
    for (const w of waiters.splice(0)) w();
  });
  let id = 0;
  /** Subscribes and returns the stream's items. */
  const call = async (method: string, params: unknown): Promise<Record<string, unknown>[]> => {
    const reqId = ++id;
    child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id: reqId, method, params })}\n`);
    for (;;) {
      const answer = messages.find((m) => m.id === reqId);
      if (answer) {
        if (answer.error) return [{ type: 'error', ...(answer.error as object) }];
        const sub = answer.result;
        const mine = messages
          .filter((m) => (m.params as { subscription?: unknown } | undefined)?.subscription === sub)
          .map((m) => (m.params as { result: Record<string, unknown> }).result);
        if (mine.some((i) => i.type === 'done')) return mine;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const stop = async () => {
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
    return stderr;
  };
  return { call, stop, stderr: () => stderr };
}

describe('auth over stdio and MCP stdio (child processes)', () => {
  let env: ReturnType<typeof makeStore>;
  let effects: string;
  before(() => {
    env = makeStore();
    effects = join(env.dir, 'side-effects.log');
    writeFileSync(effects, '');
  });
  const ranInChild = () => readFileSync(effects, 'utf8').trim().split('\n').filter(Boolean);

  it('hub serve --stdio --token: the same rules as over WebSocket; nothing denied ran', async () => {
    const hub = await stdioHub({ PLEXUS_HUB_DATA: env.dir, GUARDED_SIDE_EFFECTS: effects }, ['--token', env.tokens.reader]);
    const err = (items: Record<string, unknown>[]) => items.find((i) => i.type === 'error')?.message;
    assert.equal(err(await hub.call('plexus.call', { method: 'shell.execute', params: { command: 'ls' } })), 'Activation not found: shell');
    assert.equal(
      err(await hub.call('plexus.call', { method: 'vault.put', params: { key: 'a', value: 'b' } })),
      'Method not found: vault.put',
    );
    assert.equal(
      err(await hub.call('plexus.call', { method: 'plexus.call', params: { method: 'shell.execute', params: { command: 'x' } } })),
      'Activation not found: shell',
    );
    const schema = await hub.call('plexus.schema', {});
    assert.deepEqual(
      (schema[0]!.content as { children: { namespace: string }[] }).children.map((c) => c.namespace),
      ['vault'],
    );
    assert.deepEqual(ranInChild(), []);
    const whoami = await hub.call('plexus.call', { method: 'vault.whoami' });
    assert.equal(whoami[0]!.content, 'reader');
    const stderr = await hub.stop();
    assert.match(stderr, /on stdio as principal reader/);
    assert.ok(!stderr.includes(env.tokens.reader), 'the token is not logged');
    const records = readFileSync(join(env.dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(records.some((r) => r.transport === 'stdio' && r.outcome === 'denied' && r.path === 'shell.execute'));
    assert.deepEqual(ranInChild(), ['vault.whoami']);
  });

  it('hub serve --stdio without --token trusts the parent; a bad --token refuses to start', async () => {
    writeFileSync(effects, '');
    const hub = await stdioHub({ PLEXUS_HUB_DATA: env.dir, GUARDED_SIDE_EFFECTS: effects }, []);
    const out = await hub.call('plexus.call', { method: 'shell.execute', params: { command: 'ls' } });
    assert.equal(out[0]!.content, 'ran ls');
    await hub.stop();
    assert.deepEqual(ranInChild(), ['shell.execute ls']);
    const refused = spawn(
      process.execPath,
      [`${root}bin/hub.js`, 'serve', '--stdio', '--no-builtins', '--token', env.tokens.revoked, 'test/fixtures/guarded.ts'],
      {
        cwd: root,
        env: { ...process.env, PLEXUS_HUB_DATA: env.dir },
      },
    );
    let stderr = '';
    refused.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise((r) => refused.once('exit', r));
    assert.equal(code, 1);
    assert.match(stderr, /Authentication failed: the token was revoked/);
    assert.ok(!stderr.includes(env.tokens.revoked));
  });

  it('hub mcp --token over stdio: tools/list filtered, hidden tools unknown, <root>.call re-checked; nothing ran', async () => {
    writeFileSync(effects, '');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [`${root}bin/hub.js`, 'mcp', '--no-builtins', '--token', env.tokens.reader, 'test/fixtures/guarded.ts'],
      cwd: root,
      env: { ...(process.env as Record<string, string>), PLEXUS_HUB_DATA: env.dir, GUARDED_SIDE_EFFECTS: effects },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio-auth', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['plexus.call', 'plexus.hash', 'plexus.schema', 'vault.peek', 'vault.whoami']);
      await assert.rejects(client.callTool({ name: 'shell.execute', arguments: { command: 'ls' } }), /Unknown tool: shell.execute/);
      const wrapped = await client.callTool({ name: 'plexus.call', arguments: { method: 'vault.put', params: { key: 'a', value: 'b' } } });
      assert.deepEqual([wrapped.isError, wrapped.content], [true, [{ type: 'text', text: 'Method not found: vault.put' }]]);
      assert.deepEqual(ranInChild(), []);
      assert.deepEqual((await client.callTool({ name: 'vault.whoami', arguments: {} })).structuredContent, { result: 'reader' });
    } finally {
      await client.close();
    }
    assert.deepEqual(ranInChild(), ['vault.whoami']);
  });
});
