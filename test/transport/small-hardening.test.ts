// The smaller items of issue #10 (item 7): one meaning for --max-frame-bytes,
// terminal items for streams cancelled at shutdown, MCP arguments checked like the
// WebSocket's, request ids answered exactly or refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { DynamicHub } from '../../src/index.js';
import { serveMcpHttp } from '../../src/mcp/http.js';
import { serveStdio } from '../../src/transport/stdio-server.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { builtinActivations } from '../../activations/index.js';
import { ensureBuilt } from '../support/built.js';
import { eventually } from '../support/helpers.js';
import { REPO_ROOT } from '../support/repo.js';
import { endless } from '../support/endless.js';

const run = promisify(execFile);

function connect(url: string): Promise<{ ws: WebSocket; messages: Record<string, any>[] }> {
  const ws = new WebSocket(url);
  const messages: Record<string, any>[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  return new Promise((resolve, reject) => ws.once('open', () => resolve({ ws, messages })).once('error', reject));
}

describe('--max-frame-bytes has one meaning: 0 is refused', () => {
  it('the CLI says so and exits 1; serveWebSocket and serveStdio throw a RangeError', async () => {
    ensureBuilt();
    const r = await run(process.execPath, [`${REPO_ROOT}bin/hub.js`, 'serve', '--stdio', '--max-frame-bytes', '0'], {
      cwd: REPO_ROOT,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--max-frame-bytes <n>' argument '0' is invalid\. must be a positive integer/);
    await assert.rejects(serveWebSocket(new DynamicHub(), { port: 0, maxFrameBytes: 0 }), RangeError);
    assert.throws(
      () => serveStdio(new DynamicHub(), { input: new PassThrough(), output: new PassThrough(), maxFrameBytes: 0 }),
      RangeError,
    );
  });
});

describe('streams cancelled at shutdown get an error item and done before the close frame', () => {
  it('WebSocket: error "Server shutting down", done, then close 1001', async () => {
    const server = await serveWebSocket(new DynamicHub().register(endless({ intervalMs: 10 })), { port: 0 });
    const { ws, messages } = await connect(server.url);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'endless.ticks' } }));
    await eventually(() => messages.some((m) => m.method === 'result'));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await server.close({ graceMs: 50 });
    assert.equal(await closed, 1001);
    const items = messages.filter((m) => m.method === 'result').map((m) => m.params.result);
    const tail = items.slice(-2);
    assert.equal(tail[0].type, 'error');
    assert.equal(tail[0].message, 'Server shutting down');
    assert.equal(tail[0].code, '-32000');
    assert.deepEqual(tail[0].metadata.provenance, ['endless'], 'in the metadata of the call');
    assert.equal(tail[1].type, 'done');
    assert.ok(items.slice(0, -2).every((i) => i.type === 'data'));
  });
});

describe('request ids are answered exactly or refused', () => {
  it('an id past 2^53 gets a clear -32600 (with id null); 2^53 - 1 is answered as sent', async () => {
    const server = await serveWebSocket(new DynamicHub(), { port: 0 });
    const { ws, messages } = await connect(server.url);
    ws.send('{"jsonrpc":"2.0","id":9007199254740993,"method":"plexus.hash"}');
    ws.send('{"jsonrpc":"2.0","id":9007199254740991,"method":"plexus.hash"}');
    await eventually(() => messages.filter((m) => 'id' in m).length === 2);
    const answers = messages.filter((m) => 'id' in m);
    assert.deepEqual(answers[0], {
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: 'Invalid request: a numeric "id" must be within ±(2^53 - 1) to be answered exactly; send a larger one as a string',
      },
    });
    assert.equal(answers[1].id, 9007199254740991);
    assert.equal(typeof answers[1].result, 'number');
    ws.close();
    await server.close({ graceMs: 0 });
  });
});

describe('MCP tools/call arguments follow the WebSocket rules', () => {
  const PROTOCOL = '2025-06-18';
  const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  /** Posts a raw JSON text and returns the JSON-RPC answer (from JSON or an SSE data line). */
  async function post(url: string, headers: Record<string, string>, body: string): Promise<Record<string, any>> {
    const r = await fetch(url, { method: 'POST', headers, body });
    const text = await r.text();
    const data = text.split('\n').find((l) => l.startsWith('data: '));
    return JSON.parse(data ? data.slice(6) : text);
  }

  it('arguments as an array: -32602 with a readable message; __proto__: the same "unknown param" as over WebSocket', async () => {
    const hub = new DynamicHub().register(...builtinActivations());
    const server = await serveMcpHttp(hub, { port: 0 });
    const ws = await serveWebSocket(hub, { port: 0 });
    try {
      const init = await fetch(server.url, {
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        }),
      });
      await init.text();
      const headers = { ...HEADERS, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': PROTOCOL };
      await (
        await fetch(server.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })
      ).text();

      const array = await post(
        server.url,
        headers,
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo.once","arguments":["hi"]}}',
      );
      assert.deepEqual(array.error, {
        code: -32602,
        message: 'Invalid params: tools/call "arguments" must be an object of named params, not an array',
      });

      const proto = await post(
        server.url,
        headers,
        '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo.once","arguments":{"message":"x","__proto__":{"polluted":true}}}}',
      );
      assert.equal(proto.result.isError, true);
      const mcpText: string = proto.result.content[0].text;

      const { ws: socket, messages } = await connect(ws.url);
      socket.send(
        '{"jsonrpc":"2.0","id":1,"method":"plexus.call","params":{"method":"echo.once","params":{"message":"x","__proto__":{"polluted":true}}}}',
      );
      await eventually(() => messages.some((m) => m.params?.result?.type === 'error'));
      const wsError = messages.find((m) => m.params?.result?.type === 'error')!.params.result;
      assert.equal(mcpText, wsError.message);
      assert.match(mcpText, /unknown param '__proto__'/);
      socket.close();

      const fine = await post(
        server.url,
        headers,
        '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo.once","arguments":{"message":"ok"}}}',
      );
      assert.equal(fine.result.structuredContent.result.message, 'ok');
    } finally {
      await server.close();
      await ws.close({ graceMs: 0 });
    }
  });
});
