import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { DynamicHub, defineActivation } from '../../src/index.js';
import { serveMcpHttp, mcpHttpHandler, type McpHttpServer } from '../../src/mcp/http.js';
import { pathFromUnderscore, toolName, underscoreName } from '../../src/mcp/tool-names.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { builtinActivations } from '../../activations/index.js';
import { Kitchen } from '../fixtures/kitchen.js';
import { eventually } from '../support/helpers.js';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT as root } from '../support/repo.js';

ensureBuilt();

async function httpClient(url: string, name = 'plexus-test'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('tool names', () => {
  it('the underscore form is reversible and collision-free', () => {
    const paths = ['echo.echo', 'arbor.tree_create', 'a_b.c', 'a.b_c', 'a__b.c', 'x_.y', 'solar.earth.luna.info'];
    const names = paths.map(underscoreName);
    assert.deepEqual(names.slice(0, 2), ['echo_echo', 'arbor_tree__create']);
    assert.equal(new Set(names).size, paths.length);
    for (const p of paths) assert.equal(pathFromUnderscore(underscoreName(p)), p);
  });
  it('names over 64 characters are shortened with a hash, staying unique', () => {
    const a = `${'deep.'.repeat(15)}one`;
    const b = `${'deep.'.repeat(15)}two`;
    assert.ok(toolName(a, 'dotted').length <= 64);
    assert.notEqual(toolName(a, 'dotted'), toolName(b, 'dotted'));
  });
});

describe('MCP bridge over streamable HTTP (official SDK client)', () => {
  const hub = new DynamicHub().register(...builtinActivations(), new Kitchen());
  let server: McpHttpServer;
  let client: Client;
  before(async () => {
    server = await serveMcpHttp(hub, { port: 0 });
    client = await httpClient(server.url);
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('lists every method at every depth as a tool, with schemas and the dotted path as title', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const n of [
      'echo.echo',
      'echo.once',
      'health.check',
      'solar.observe',
      'solar.earth.info',
      'solar.earth.luna.info',
      'plexus.call',
      'plexus.schema',
      'plexus.hash',
    ]) {
      assert.ok(byName.has(n), `tool ${n}`);
    }
    const echo = byName.get('echo.echo')!;
    assert.equal(echo.title, 'echo.echo');
    assert.equal(echo.description, 'Echo a message back `count` times, one item each.');
    assert.equal(echo.inputSchema.type, 'object');
    assert.deepEqual(echo.inputSchema.required, ['message']);
    assert.equal(echo.outputSchema?.type, 'object');
    assert.deepEqual(Object.keys(echo.outputSchema!.properties!), ['items', 'error']);
    assert.deepEqual(byName.get('health.check')!.inputSchema, { type: 'object', properties: {} });
    assert.deepEqual(Object.keys(byName.get('echo.once')!.outputSchema!.properties!), ['result', 'error']);
  });

  it('calls a unary tool: text content plus structuredContent matching outputSchema', async () => {
    const r = await client.callTool({ name: 'solar.earth.luna.info', arguments: {} });
    assert.equal(r.isError, undefined);
    assert.equal((r.structuredContent as any).result.name, 'Luna');
    assert.equal(JSON.parse((r.content as any)[0].text).name, 'Luna');
  });

  it('streams: each item arrives as a progress notification; the result carries all items', async () => {
    const progress: Progress[] = [];
    const r = await client.callTool({ name: 'echo.echo', arguments: { message: 'hi', count: 3 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    assert.deepEqual(
      (r.structuredContent as any).items.map((i: any) => i.seq),
      [1, 2, 3],
    );
    assert.equal((r.content as any[]).length, 3);
    assert.deepEqual(
      progress.map((p) => p.progress),
      [1, 2, 3],
    );
    assert.deepEqual(JSON.parse(progress[0]!.message!), { message: 'hi', seq: 1 });
  });

  it('hub progress items become progress notifications too', async () => {
    const progress: Progress[] = [];
    await client.callTool({ name: 'kitchen.counted', arguments: { n: 4 } }, undefined, { onprogress: (p) => progress.push(p) });
    assert.ok(progress.some((p) => p.message === 'halfway (50%)'));
  });

  it('invalid arguments, throwing methods and unknown tools are clean errors', async () => {
    const bad = await client.callTool({ name: 'echo.echo', arguments: { count: 'x' } });
    assert.equal(bad.isError, true);
    assert.match((bad.content as any)[0].text, /^Invalid params: /);
    // The code travels for a program too (#25 item 2), and satisfies the tool's outputSchema.
    assert.deepEqual(bad.structuredContent, { error: { code: -32602, message: (bad.content as any)[0].text } });
    const boom = await client.callTool({ name: 'kitchen.explode', arguments: {} });
    assert.equal(boom.isError, true);
    assert.equal((boom.content as any)[0].text, 'Execution error: kaboom');
    await assert.rejects(client.callTool({ name: 'nope.tool', arguments: {} }), /Unknown tool: nope\.tool/);
  });

  it('meta-tools reach any path: plexus.call and plexus.schema', async () => {
    const r = await client.callTool({ name: 'plexus.call', arguments: { method: 'solar.mars.phobos.info' } });
    assert.equal((r.structuredContent as any).items[0].name, 'Phobos');
    const s = await client.callTool({ name: 'plexus.schema', arguments: { path: 'solar.earth' } });
    assert.equal((s.structuredContent as any).result.namespace, 'earth');
    const missing = await client.callTool({ name: 'plexus.schema', arguments: { path: 'solar.vulcan.info' } });
    assert.equal(missing.isError, true);
    assert.equal((missing.content as any)[0].text, 'Activation not found: vulcan');
    const wrong = await client.callTool({ name: 'plexus.call', arguments: { params: {} } });
    assert.equal(wrong.isError, true);
    assert.match((wrong.content as any)[0].text, /missing required param 'method'/);
  });

  it('client cancellation stops the hub stream', async () => {
    const ac = new AbortController();
    const call = client.callTool({ name: 'kitchen.forever', arguments: {} }, undefined, { signal: ac.signal });
    await eventually(() => Kitchen.foreverRunning === 1);
    ac.abort();
    await assert.rejects(call);
    await eventually(() => Kitchen.foreverRunning === 0);
  });

  it('sends tools/list_changed when activations are added or removed at runtime', async () => {
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => void changed++);
    hub.register(defineActivation({ namespace: 'late', methods: { hello: { description: 'Added at runtime', handler: () => 'hi' } } }));
    await eventually(() => changed === 1);
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'late.hello'));
    assert.equal(((await client.callTool({ name: 'late.hello', arguments: {} })).structuredContent as any).result, 'hi');
    hub.unregister('late');
    await eventually(() => changed === 2);
    assert.ok(!(await client.listTools()).tools.some((t) => t.name === 'late.hello'));
  });

  it('clients known to reject dots get underscore names; tools/call takes either form', async () => {
    const desktop = await httpClient(server.url, 'claude-ai');
    const { tools } = await desktop.listTools();
    assert.ok(tools.every((t) => !t.name.includes('.')));
    const luna = tools.find((t) => t.title === 'solar.earth.luna.info')!;
    assert.equal(luna.name, 'solar_earth_luna_info');
    assert.equal(
      ((await desktop.callTool({ name: 'echo_once', arguments: { message: 'u' } })).structuredContent as any).result.message,
      'u',
    );
    assert.equal(
      ((await desktop.callTool({ name: 'echo.once', arguments: { message: 'd' } })).structuredContent as any).result.message,
      'd',
    );
    await desktop.close();
  });

  it('rejects a foreign Host or Origin (DNS-rebinding protection) and unknown sessions', async () => {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const { request } = await import('node:http');
    const post = (extra: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        const req = request(server.url, { method: 'POST', headers: { ...headers, ...extra } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.end(JSON.stringify(init));
      });
    const evilHost = await post({ host: 'evil.example:80' });
    assert.equal(evilHost.status, 403);
    assert.match(evilHost.body, /Invalid Host header/);
    const evilOrigin = await post({ origin: 'http://evil.example' });
    assert.equal(evilOrigin.status, 403);
    assert.match(evilOrigin.body, /Invalid Origin header/);
    const unknown = await post({ 'mcp-session-id': 'nope' });
    assert.equal(unknown.status, 404);
  });
});

describe('MCP on the hub serve port', () => {
  it('/mcp answers on the same port as the WebSocket endpoint', async () => {
    const hub = new DynamicHub().register(...builtinActivations());
    const mcp = mcpHttpHandler(hub);
    const ws = await serveWebSocket(hub, { port: 0, http: mcp });
    mcp.bind(ws.host, ws.port);
    const client = await httpClient(`http://127.0.0.1:${ws.port}/mcp`);
    const r = await client.callTool({ name: 'echo.once', arguments: { message: 'same port' } });
    assert.equal((r.structuredContent as any).result.message, 'same port');
    await client.close();
    await mcp.close();
    await ws.close({ graceMs: 0 });
  });
});

describe('hub mcp over stdio (spawned child process)', () => {
  it('lists, calls unary and streaming tools, with progress', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [`${root}bin/hub.js`, 'mcp', 'test/fixtures/kitchen.ts'],
      cwd: root,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'kitchen.everything'));
      assert.ok(tools.some((t) => t.name === 'solar.earth.luna.info'));
      assert.equal(
        ((await client.callTool({ name: 'echo.once', arguments: { message: 'stdio' } })).structuredContent as any).result.message,
        'stdio',
      );
      const progress: Progress[] = [];
      const r = await client.callTool({ name: 'echo.echo', arguments: { message: 's', count: 20 } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      assert.equal((r.structuredContent as any).items.length, 20);
      // Over a pipe the SDK client may drop progress read together with the result (typescript-sdk#2580):
      // on a loaded machine both of 2 were once read with it, so 20 items, of which the first must come.
      assert.ok(progress.length >= 1 && progress.length <= 20, `${progress.length} progress notifications`);
      progress.forEach((p, i) => {
        assert.equal(p.progress, i + 1);
        assert.equal(JSON.parse(p.message!).seq, p.progress);
      });
      const bad = await client.callTool({ name: 'echo.once', arguments: {} });
      assert.equal(bad.isError, true);
    } finally {
      await client.close();
    }
  });
});
