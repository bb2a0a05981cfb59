// DNS rebinding (issue #10, item 6): the WebSocket upgrade obeys the same Host/Origin
// rule as /mcp, and a non-loopback bind keeps both checks on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { DynamicHub } from '../../src/index.js';
import { mcpHttpHandler, serveMcpHttp } from '../../src/mcp/http.js';
import { OriginGuard } from '../../src/transport/http-guard.js';
import { serveWebSocket, type WebSocketServeOptions } from '../../src/transport/websocket-server.js';
import { builtinActivations } from '../../activations/index.js';

/** Opens a WebSocket with chosen Host/Origin headers; resolves with 101 or the refusal's status. */
function upgrade(port: number, headers: { host?: string; origin?: string }): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, {
    headers: headers.host ? { host: headers.host } : {},
    ...(headers.origin ? { origin: headers.origin } : {}),
  });
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.once('error', () => {});
  });
}

/** POSTs an initialize to /mcp with chosen headers; resolves with the status and body. */
function postMcp(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function hubServe(options: WebSocketServeOptions) {
  const hub = new DynamicHub().register(...builtinActivations());
  const mcp = mcpHttpHandler(hub, options);
  const server = await serveWebSocket(hub, { port: 0, ...options, http: mcp });
  mcp.bind(server.host, server.port);
  return { server, mcp, close: async () => Promise.all([mcp.close(), server.close({ graceMs: 0 })]) };
}

describe('Host and Origin checks', { timeout: 20_000 }, () => {
  it('loopback bind: the WebSocket refuses a foreign Host (DNS rebinding) and a foreign browser Origin, like /mcp', async () => {
    const { server, close } = await hubServe({});
    const port = server.port;
    try {
      assert.equal(await upgrade(port, {}), 101, 'a non-browser client (no Origin) connects');
      assert.equal(await upgrade(port, { host: `localhost:${port}` }), 101);
      assert.equal(await upgrade(port, { host: `evil.example:${port}` }), 403);
      assert.equal(await upgrade(port, { origin: 'http://evil.example' }), 403);
      assert.equal(await upgrade(port, { origin: 'null' }), 403);
      assert.equal(
        await upgrade(port, { origin: `http://127.0.0.1:${port}` }),
        101,
        'the server’s own pages (the explorer) are same-origin',
      );
      assert.equal((await postMcp(port, { origin: 'http://evil.example' })).status, 403);
    } finally {
      await close();
    }
  });

  it('allowedOrigins / allowedHosts extend the defaults (--allow-origin, --allow-host)', async () => {
    const { server, close } = await hubServe({ allowedOrigins: ['http://localhost:5173'], allowedHosts: ['hub.lan'] });
    const port = server.port;
    try {
      assert.equal(await upgrade(port, { origin: 'http://localhost:5173' }), 101);
      assert.equal(await upgrade(port, { origin: 'http://localhost:5174' }), 403);
      assert.equal(await upgrade(port, { host: 'hub.lan' }), 101);
      assert.equal(await upgrade(port, { host: `hub.lan:${port}` }), 101);
      assert.equal(await upgrade(port, { host: `127.0.0.1:${port}` }), 101, 'the defaults stay');
      const refused = await postMcp(port, { host: 'evil.example' });
      assert.equal(refused.status, 403);
      assert.match(refused.body, /Invalid Host header: evil\.example \(accepted: .*hub\.lan.*add names with --allow-host\)/);
    } finally {
      await close();
    }
  });

  it('a wildcard bind (0.0.0.0) keeps both checks on, for the WebSocket and /mcp', async () => {
    const { server, close } = await hubServe({ host: '0.0.0.0' });
    const port = server.port;
    try {
      assert.equal(await upgrade(port, { host: `127.0.0.1:${port}` }), 101);
      assert.equal(await upgrade(port, { host: `evil.example:${port}` }), 403);
      assert.equal(await upgrade(port, { origin: 'http://evil.example' }), 403);
      assert.equal((await postMcp(port, { host: `evil.example:${port}` })).status, 403);
      assert.equal((await postMcp(port, { host: `127.0.0.1:${port}` })).status, 200);
    } finally {
      await close();
    }
    const standalone = await serveMcpHttp(new DynamicHub(), { host: '0.0.0.0', port: 0 });
    try {
      assert.equal((await postMcp(standalone.port, { host: `evil.example:${standalone.port}` })).status, 403);
      assert.equal((await postMcp(standalone.port, { host: `localhost:${standalone.port}` })).status, 200);
    } finally {
      await standalone.close();
    }
  });

  it('a wildcard bind accepts every local address and the host name', () => {
    const guard = new OriginGuard();
    guard.bind('0.0.0.0', 4444, () => ['192.168.1.5', 'fe80::1']);
    const req = (host: string, origin?: string) => ({ headers: { host, ...(origin ? { origin } : {}) } }) as never;
    assert.equal(guard.check(req('192.168.1.5:4444')), undefined);
    assert.equal(guard.check(req('[fe80::1]:4444')), undefined);
    assert.equal(guard.check(req('192.168.1.5:4444', 'http://192.168.1.5:4444')), undefined);
    assert.match(guard.check(req('192.168.1.5:9999'))!, /Invalid Host header/);
    assert.match(guard.check(req('attacker.example:4444'))!, /Invalid Host header/);
  });
});
