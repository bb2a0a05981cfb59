// MCP tool results are capped, and a tool call's hub stream is cancelled when its
// client leaves: TCP disconnect, DELETE of the session, EOF on `hub mcp`'s stdin
// (issue #10, item 2). Producers count their `finally` so cancellation is observed,
// not assumed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DynamicHub, defineActivation } from '../../src/index.js';
import { serveMcpHttp, type McpHttpServer } from '../../src/mcp/http.js';
import { serveMcpStdio } from '../../src/mcp/stdio.js';
import { ensureBuilt } from '../support/built.js';
import { eventually, tick } from '../support/helpers.js';
import { REPO_ROOT } from '../support/repo.js';
import { PROTOCOL, rawSession } from '../support/mcp-raw.js';

const finallies = { ticks: 0, many: 0, big: 0 };
/** Calls of streams.ticks that started: a test cancels a call once it runs. */
let ticksStarted = 0;

function streams() {
  return defineActivation({
    namespace: 'streams',
    methods: {
      ticks: {
        description: 'A tick every 2 ms, forever.',
        streaming: true,
        returns: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
        handler: async function* () {
          ticksStarted++;
          try {
            for (let n = 1; ; n++) {
              yield { n };
              await tick(2);
            }
          } finally {
            finallies.ticks++;
          }
        },
      },
      many: {
        description: '5,000 items as fast as they go.',
        streaming: true,
        returns: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
        handler: function* () {
          try {
            for (let n = 1; n <= 5000; n++) yield { n };
          } finally {
            finallies.many++;
          }
        },
      },
      big: {
        description: '100 items of 64 KiB each.',
        streaming: true,
        returns: { type: 'string' },
        handler: function* () {
          try {
            for (let n = 0; n < 100; n++) yield 'x'.repeat(64 * 1024);
          } finally {
            finallies.big++;
          }
        },
      },
      huge: { description: 'One 2 MiB string.', returns: { type: 'string' }, handler: () => 'y'.repeat(2 * 1024 * 1024) },
    },
  });
}

function callTicks(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers,
    signal,
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'streams.ticks', arguments: {} } }),
  });
}

describe('MCP tool results are capped', { timeout: 20_000 }, () => {
  const hub = new DynamicHub().register(streams());
  let server: McpHttpServer;
  let small: McpHttpServer;
  let client: Client;
  before(async () => {
    server = await serveMcpHttp(hub, { port: 0 });
    small = await serveMcpHttp(hub, { port: 0, maxItems: 20 });
    client = new Client({ name: 'limits', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    await client.listTools(); // the client validates structuredContent against these output schemas
  });
  after(async () => {
    await client.close();
    await Promise.all([server.close(), small.close()]);
  });

  it('past 1,000 items (the default) the stream is cancelled; the result says so and still fits the output schema', async () => {
    const r = await client.callTool({ name: 'streams.many', arguments: {} });
    const items = (r.structuredContent as { items: unknown[] }).items;
    assert.equal(items.length, 1000);
    assert.deepEqual(items.at(-1), { n: 1000 });
    const content = r.content as { type: string; text: string }[];
    assert.equal(content.length, 1001);
    assert.match(
      content.at(-1)!.text,
      /^Truncated: the stream produced more than 1000 items \(the limit\); it was cancelled after 1000 items/,
    );
    assert.deepEqual(r._meta?.['plexus-hub/truncated'], {
      items: 1000,
      bytes: 7 * 9 + 8 * 90 + 9 * 900 + 10,
      reason: 'more than 1000 items (the limit)',
    });
    assert.equal(r.isError, undefined);
    await eventually(() => finallies.many === 1);
  });

  it('an endless stream ends at the configured cap (maxItems) and its producer is cancelled', async () => {
    const c = new Client({ name: 'limits-small', version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(small.url)));
    const before = finallies.ticks;
    const r = await c.callTool({ name: 'streams.ticks', arguments: {} });
    assert.equal((r.structuredContent as { items: unknown[] }).items.length, 20);
    await eventually(() => finallies.ticks === before + 1);
    await c.close();
  });

  it('past 1 MiB of item JSON (the default) likewise; a unary result over it is an error', async () => {
    const r = await client.callTool({ name: 'streams.big', arguments: {} });
    assert.equal((r.structuredContent as { items: unknown[] }).items.length, 15); // 16 × 65,538 bytes > 1 MiB
    assert.match((r.content as { text: string }[]).at(-1)!.text, /more than 1048576 bytes of JSON \(the limit\)/);
    await eventually(() => finallies.big === 1);
    const huge = await client.callTool({ name: 'streams.huge', arguments: {} });
    assert.equal(huge.isError, true);
    assert.match((huge.content as { text: string }[])[0]!.text, /^Result too large: more than 1048576 bytes of JSON/);
  });
});

describe('an MCP tool call is cancelled when its client leaves', { timeout: 20_000 }, () => {
  const hub = new DynamicHub().register(streams());
  let server: McpHttpServer;
  before(async () => {
    server = await serveMcpHttp(hub, { port: 0 });
  });
  after(() => server.close());

  it('TCP disconnect of the POST that runs the call', async () => {
    const headers = await rawSession(server.url);
    const before = finallies.ticks;
    const started = ticksStarted;
    const abort = new AbortController();
    const res = await callTicks(server.url, headers, abort.signal);
    assert.equal(res.status, 200);
    await eventually(() => ticksStarted === started + 1, 3000);
    abort.abort();
    await eventually(() => finallies.ticks === before + 1, 3000);
  });

  it('DELETE of the session', async () => {
    const headers = await rawSession(server.url);
    const before = finallies.ticks;
    const started = ticksStarted;
    const running = callTicks(server.url, headers).catch(() => undefined);
    await eventually(() => ticksStarted === started + 1, 3000);
    const del = await fetch(server.url, { method: 'DELETE', headers });
    assert.equal(del.status, 200);
    await eventually(() => finallies.ticks === before + 1, 3000);
    await running;
  });

  it('EOF on the stdio input (in process): the session closes and the stream is cancelled', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const mcp = await serveMcpStdio(new DynamicHub().register(streams()), { input, output });
    const lines = createInterface({ input: output });
    const answered = new Promise((resolve) => lines.once('line', resolve));
    input.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
    );
    await answered;
    input.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const before = finallies.ticks;
    const started = ticksStarted;
    input.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'streams.ticks', arguments: {} } })}\n`);
    await eventually(() => ticksStarted === started + 1, 3000);
    input.end();
    await mcp.closed;
    await eventually(() => finallies.ticks === before + 1, 3000);
  });
});

describe('hub mcp (stdio) exits on EOF and cancels running calls', { timeout: 30_000 }, () => {
  it('the producer of a running call runs its finally and the process exits', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [`${REPO_ROOT}bin/hub.js`, 'mcp', 'test/fixtures/endless.ts'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const answered = new Promise((resolve) => lines.once('line', resolve));
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
      );
      await answered;
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'endless.ticks', arguments: {} } })}\n`,
      );
      await eventually(() => stderr.includes('endless.ticks started'), 10_000);
      child.stdin.end();
      const code = await Promise.race([exited, tick(8000).then(() => 'still running')]);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /endless\.ticks finally/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
