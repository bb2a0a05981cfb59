// MCP and HTTP bounds (issue #22, items 4–8), probed as a hostile client would.
//
// | rule                                              | MCP HTTP (`hub serve` /mcp) | MCP HTTP (`hub mcp --http`) | MCP stdio (`hub mcp`) | WebSocket |
// |---------------------------------------------------|-----------------------------|-----------------------------|-----------------------|-----------|
// | 4 tool calls capped per session / per process     | yes (+ shared stream budget)| yes                         | per session           | shares the budget |
// | 5 every HTTP connection counted; bodies capped    | yes                         | yes (same code)             | n/a                   | counted   |
// | 6 an overlong line is skipped with -32600         | n/a (body cap 413)          | n/a                         | yes                   | n/a (1009)|
// | 7 shutdown: grace, then an error result           | yes                         | yes (same handler close)    | n/a (EOF cancels)     | existing  |
// | 8 CORS for --allow-origin on /mcp                 | yes                         | yes (in process)            | n/a                   | n/a       |
//
// Every hub here is a spawned `hub` process (test/support/hub-process.ts), so
// memory is that process's RSS, not the test runner's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { DynamicHub } from '../../src/index.js';
import { serveMcpHttp, type McpHttpServer } from '../../src/mcp/http.js';
import { ensureBuilt } from '../support/built.js';
import { rssOf, until } from '../support/federation.js';
import { eventually } from '../support/helpers.js';
import { startHub, type HubProcess } from '../support/hub-process.js';
import { RawClient } from '../support/raw-client.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';
import { JSON_HEADERS, PROTOCOL, rawSession } from '../support/mcp-raw.js';

const MiB = 1024 * 1024;

/** The JSON-RPC messages of an MCP answer: a JSON body or an SSE stream of `data:` lines. */
function messagesOf(text: string): any[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return [JSON.parse(trimmed)].flat();
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice('data: '.length)));
}

function toolCall(id: number, name: string, args: Record<string, unknown>) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

const startedCount = (hub: HubProcess, what: string) => hub.lines.filter((l) => l === `${what} started`).length;

describe('4: concurrent MCP tool calls are capped', { timeout: 90_000 }, () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub({ command: 'mcp', args: ['--http', 'test/fixtures/hoard.ts'] });
  });
  after(() => hub.stop());

  it('a batch POST of 100 calls runs 16 (the per-session cap); the rest get -32005 and the hub does not hold 100 results', async (t) => {
    const headers = await rawSession(hub.url);
    const before = rssOf(hub.child.pid!);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(hub.child.pid!))), 50);
    try {
      // Each call collects 1,000 items of 1,000 characters (the default item cap), then holds them 3 s.
      const batch = Array.from({ length: 100 }, (_, i) => toolCall(100 + i, 'hoard.fill', { count: 1000, size: 1000, holdMs: 3000 }));
      const res = await fetch(hub.url, { method: 'POST', headers, body: JSON.stringify(batch) });
      const messages = messagesOf(await res.text());
      const refused = messages.filter((m) => m.error);
      const results = messages.filter((m) => m.result);
      assert.equal(results.length, 16, JSON.stringify(refused[0]));
      assert.equal(refused.length, 84);
      for (const r of refused) {
        assert.equal(r.error.code, -32005);
        assert.match(r.error.message, /^Too many tool calls: this session already has 16 running \(the limit\)/);
      }
      assert.equal(startedCount(hub, 'hoard.fill'), 16, 'only the admitted calls ran');
    } finally {
      clearInterval(sampler);
    }
    // Measured: +54 to +85 MB of RSS for 16 calls; before the cap a batch like it cost +345 MB (issue #22).
    const grown = (peak - before) / MiB;
    t.diagnostic(`hub RSS grew by ${grown.toFixed(1)} MiB`);
    assert.ok(grown < 120, `RSS grew by ${grown.toFixed(0)} MiB`);
  });

  it('a call after the batch ends runs again: the slots were released', async () => {
    const headers = await rawSession(hub.url);
    const res = await fetch(hub.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(toolCall(7, 'hoard.fill', { count: 1, size: 1, holdMs: 0 })),
    });
    const [answer] = messagesOf(await res.text());
    assert.equal(answer.result?.isError, undefined, JSON.stringify(answer));
  });
});

describe('4: the per-process cap and the stream budget shared with WebSocket streams (hub serve)', { timeout: 60_000 }, () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub({
      args: ['--max-total-streams', '6', '--mcp-max-total-calls', '4', 'test/fixtures/hoard.ts', 'test/fixtures/endless.ts'],
    });
  });
  after(() => hub.stop());

  it('two sessions together run at most --mcp-max-total-calls; WebSocket streams take from the same budget', async () => {
    const mcpUrl = `http://127.0.0.1:${hub.port}/mcp`;
    const [a, b] = await Promise.all([rawSession(mcpUrl), rawSession(mcpUrl)]);
    const batch = (base: number) =>
      Array.from({ length: 3 }, (_, i) => toolCall(base + i, 'hoard.fill', { count: 1, size: 1, holdMs: 1500 }));
    const answers = await Promise.all(
      [a, b].map(async (headers, i) =>
        messagesOf(await (await fetch(mcpUrl, { method: 'POST', headers, body: JSON.stringify(batch(10 * i)) })).text()),
      ),
    );
    const all = answers.flat();
    assert.equal(all.filter((m) => m.result).length, 4);
    const refused = all.filter((m) => m.error);
    assert.equal(refused.length, 2);
    for (const r of refused)
      assert.match(r.error.message, /^Too many tool calls: the server already has 4 running across all sessions \(the limit\)/);

    // 4 WebSocket streams of the 6 leave 2 for MCP.
    const ws = await RawClient.open(hub.url);
    try {
      for (let i = 0; i < 4; i++) await ws.call('endless.ticks', { ms: 100 });
      const res = await fetch(mcpUrl, { method: 'POST', headers: a, body: JSON.stringify(batch(50)) });
      const messages = messagesOf(await res.text());
      assert.equal(messages.filter((m) => m.result).length, 2);
      const [over] = messages.filter((m) => m.error);
      assert.equal(over.error.code, -32005);
      assert.match(over.error.message, /^Too many streams: the server already has 6 open across all connections \(the limit\)/);
    } finally {
      ws.close();
    }
  });
});

describe('4: hub mcp over stdio caps the calls of its one session', { timeout: 60_000 }, () => {
  it('--mcp-max-calls 2: of 5 calls sent at once 2 run, 3 get -32005 at once; later calls run again', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [HUB_BIN, 'mcp', '--mcp-max-calls', '2', 'test/fixtures/hoard.ts'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const replies: any[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => replies.push(JSON.parse(l)));
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    try {
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      await eventually(() => replies.some((m) => m.id === 1), 20_000);
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      for (let i = 0; i < 5; i++) send(toolCall(10 + i, 'hoard.fill', { count: 1, size: 1, holdMs: 1000 }));
      await eventually(() => replies.filter((m) => m.id >= 10 && m.id < 15).length === 5, 20_000);
      const refused = replies.filter((m) => m.id >= 10 && m.error);
      assert.equal(refused.length, 3);
      for (const r of refused) assert.match(r.error.message, /^Too many tool calls: this session already has 2 running \(the limit\)/);
      assert.equal((stderr.match(/hoard\.fill started/g) ?? []).length, 2, 'the refused calls never ran');
      send(toolCall(20, 'hoard.fill', { count: 1, size: 1, holdMs: 0 }));
      await eventually(() => replies.some((m) => m.id === 20), 20_000);
      assert.ok(replies.find((m) => m.id === 20).result, 'the slots were released');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** Opens a raw TCP connection and resolves once it is connected. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the server sent on `s` until it closed (or `ms` passed). */
function answerOf(s: Socket, ms = 30_000): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d) => (text += d));
    s.on('error', () => {});
    const timer = setTimeout(() => resolve(text), ms);
    s.once('close', () => (clearTimeout(timer), resolve(text)));
  });
}

describe('5: HTTP connections and request bodies are bounded (hub serve)', { timeout: 90_000 }, () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub({ args: ['--max-connections', '300', '--mcp-body-timeout', '3'] });
  });
  after(() => hub.stop());

  it('200 connections each trickling a 4 MiB − 1 body: 16 are read, the rest get 503 at once, the 16 get 408; memory stays bounded', async (t) => {
    const length = 4 * MiB - 1;
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${length}\r\n\r\n`;
    const first = Buffer.alloc(2 * MiB, 0x20); // 2 MiB at once, then a byte now and then: never the whole body
    const before = rssOf(hub.child.pid!);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(hub.child.pid!))), 50);
    const sockets = await Promise.all(Array.from({ length: 200 }, () => open(hub.port)));
    const seen: string[] = Array(200).fill('');
    for (const [i, s] of sockets.entries()) s.on('data', (d) => (seen[i] += d));
    const answers = sockets.map((s) => answerOf(s));
    for (const s of sockets) s.write(head);
    // Every request's headers are in before any body: the 16 read first hold their slots,
    // the other 184 are refused at once, before their bodies are read.
    await eventually(() => seen.filter((t) => t.startsWith('HTTP/1.1 503')).length === 184, 20_000);
    for (const s of sockets) if (!s.destroyed) s.write(first);
    const trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(' ');
    }, 500);
    const started = Date.now();
    try {
      const texts = await Promise.all(answers);
      const status = (t: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(t)?.[1]);
      const byStatus = new Map<number, number>();
      for (const t of texts) byStatus.set(status(t), (byStatus.get(status(t)) ?? 0) + 1);
      assert.equal(byStatus.get(408), 16, JSON.stringify([...byStatus]));
      assert.equal(byStatus.get(503), 184, JSON.stringify([...byStatus]));
      assert.match(texts.find((t) => status(t) === 408)!, /Request timeout: the body was not received within 3 s \(the limit\)/);
      assert.match(texts.find((t) => status(t) === 503)!, /Too many request bodies: the server is receiving 16 at once \(the limit\)/);
      assert.ok(Date.now() - started < 15_000, 'the timeouts came from the body timeout, not Node 300 s');
    } finally {
      clearInterval(trickle);
      clearInterval(sampler);
      for (const s of sockets) s.destroy();
    }
    // Measured ~+38 MB (16 bodies of 2 MiB); before, every body was read: +400 MB or more.
    const grown = (peak - before) / MiB;
    t.diagnostic(`hub RSS grew by ${grown.toFixed(1)} MiB`);
    assert.ok(grown < 150, `RSS grew by ${grown.toFixed(0)} MiB`);
    // The server still answers.
    assert.equal((await fetch(`http://127.0.0.1:${hub.port}/mcp`, { method: 'POST', headers: JSON_HEADERS, body: '{}' })).status, 400);
  });
});

describe('5: --max-connections counts plain HTTP connections, not only WebSockets', { timeout: 60_000 }, () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub({ args: ['--max-connections', '20'] });
  });
  after(() => hub.stop());

  it('30 idle HTTP connections: 10 are answered 503 and closed; a WebSocket past the cap is refused too', async () => {
    const sockets = await Promise.all(Array.from({ length: 30 }, () => open(hub.port)));
    const answers = sockets.map((s) => answerOf(s, 3000));
    try {
      const texts = await Promise.all(answers);
      const refused = texts.filter((t) => t.startsWith('HTTP/1.1 503'));
      assert.equal(refused.length, 10);
      assert.match(refused[0]!, /Too many connections: the server has 20 open \(the limit\)/);
      await assert.rejects(RawClient.open(hub.url), /503/);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // Once they are gone, connections are accepted again.
    const ws = await until(() => RawClient.open(hub.url), 5000);
    ws.close();
  });
});

describe('5: serveMcpHttp (hub mcp --http) counts its connections too', { timeout: 30_000 }, () => {
  it('maxConnections 5: of 8 idle connections 3 are answered 503 and closed', async () => {
    const server = await serveMcpHttp(new DynamicHub(), { port: 0, maxConnections: 5 });
    const sockets = await Promise.all(Array.from({ length: 8 }, () => open(server.port)));
    try {
      const texts = await Promise.all(sockets.map((s) => answerOf(s, 2000)));
      const refused = texts.filter((t) => t.startsWith('HTTP/1.1 503'));
      assert.equal(refused.length, 3);
      assert.match(refused[0]!, /Too many connections: the server has 5 open \(the limit\)/);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });
});

describe('6: hub mcp over stdio skips an overlong line with -32600 and goes on', { timeout: 60_000 }, () => {
  it('a 12 MiB line gets an error (it was never buffered whole); a valid call after it still works', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [HUB_BIN, 'mcp', 'test/fixtures/hoard.ts'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const replies: any[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => replies.push(JSON.parse(l)));
    const reply = async (pred: (m: any) => boolean) => {
      await eventually(() => replies.some(pred), 20_000).catch(() => {
        throw new Error(`no reply; got ${JSON.stringify(replies).slice(0, 500)}; stderr: ${stderr}`);
      });
      return replies.find(pred);
    };
    try {
      const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      await reply((m) => m.id === 1);
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      // 12 MiB of one JSON string, written in 1 MiB pieces as a pipe would deliver them.
      child.stdin.write('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hoard.fill","arguments":{"pad":"');
      const piece = 'p'.repeat(MiB);
      for (let i = 0; i < 12; i++) child.stdin.write(piece);
      child.stdin.write('"}}}\n');
      const skipped = await reply((m) => m.id === null && m.error);
      assert.equal(skipped.error.code, -32600);
      assert.match(
        skipped.error.message,
        /^Invalid request: message is larger than 1048576 bytes \(the limit, --max-frame-bytes\); it was skipped/,
      );
      send(toolCall(3, 'hoard.fill', { count: 2, size: 3, holdMs: 0 }));
      const ok = await reply((m) => m.id === 3);
      assert.deepEqual(ok.result.structuredContent, { items: ['0xx', '1xx'] });
      assert.equal(child.exitCode, null, 'still running');
      assert.equal(replies.filter((m) => m.id === 2).length, 0, 'the overlong call never ran');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--max-frame-bytes sets the limit', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [HUB_BIN, 'mcp', '--max-frame-bytes', '100', 'test/fixtures/hoard.ts'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const replies: any[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => replies.push(JSON.parse(l)));
    try {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(200) } })}\n`);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' })}\n`);
      await eventually(() => replies.length >= 2, 20_000);
      assert.match(replies[0].error.message, /larger than 100 bytes/);
      assert.deepEqual(replies[1], { jsonrpc: '2.0', id: 2, result: {} });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('7: shutdown gives a running MCP call the grace period, then an error result', { timeout: 60_000 }, () => {
  for (const command of ['serve', 'mcp'] as const) {
    it(`hub ${command}: SIGTERM during an endless call → after ~2 s, a result with isError and "Server shutting down"`, async () => {
      const hub = await startHub({ command, args: [...(command === 'mcp' ? ['--http'] : []), 'test/fixtures/endless.ts'] });
      try {
        const url = command === 'mcp' ? hub.url : `http://127.0.0.1:${hub.port}/mcp`;
        const headers = await rawSession(url);
        const answer = fetch(url, { method: 'POST', headers, body: JSON.stringify(toolCall(5, 'endless.ticks', { ms: 50 })) }).then(
          async (r) => ({ status: r.status, text: await r.text() }),
        );
        await eventually(() => startedCount(hub, 'endless.ticks') === 1, 10_000);
        const signalled = Date.now();
        hub.child.kill('SIGTERM');
        const { status, text } = await answer;
        const waited = Date.now() - signalled;
        assert.equal(status, 200);
        const [message] = messagesOf(text).filter((m) => m.id === 5);
        assert.ok(message, `an answer to the call, got: ${JSON.stringify(text)}`);
        assert.equal(message.result.isError, true);
        assert.match(message.result.content[0].text, /^Server shutting down: the call did not finish within the grace period/);
        assert.ok(waited >= 1500, `answered after the grace period, not at once (${waited} ms)`);
        await eventually(() => hub.child.exitCode !== null, 10_000);
        assert.equal(hub.child.exitCode, 0);
      } finally {
        await hub.stop();
      }
    });
  }
});

describe('8: --allow-origin answers CORS on /mcp', { timeout: 60_000 }, () => {
  const ALLOWED = 'http://app.example:5173';
  let hub: HubProcess;
  let inProcess: McpHttpServer;
  before(async () => {
    hub = await startHub({ args: ['--allow-origin', ALLOWED] });
    inProcess = await serveMcpHttp(new DynamicHub(), { port: 0, allowedOrigins: [ALLOWED] });
  });
  after(async () => {
    await inProcess.close();
    await hub.stop();
  });

  for (const where of ['hub serve', 'serveMcpHttp'] as const) {
    const url = () => (where === 'hub serve' ? `http://127.0.0.1:${hub.port}/mcp` : inProcess.url);

    it(`${where}: the preflight allows the MCP headers; responses expose Mcp-Session-Id`, async () => {
      const pre = await fetch(url(), {
        method: 'OPTIONS',
        headers: {
          origin: ALLOWED,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, mcp-session-id, mcp-protocol-version, authorization, last-event-id',
        },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), ALLOWED);
      const allowed = pre.headers.get('access-control-allow-headers')!.split(/,\s*/);
      for (const h of ['content-type', 'mcp-session-id', 'mcp-protocol-version', 'authorization', 'last-event-id'])
        assert.ok(allowed.includes(h), h);
      assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);

      const init = await fetch(url(), {
        method: 'POST',
        headers: { ...JSON_HEADERS, origin: ALLOWED },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'page', version: '1' } },
        }),
      });
      await init.text();
      assert.equal(init.status, 200);
      assert.equal(init.headers.get('access-control-allow-origin'), ALLOWED);
      assert.equal(init.headers.get('access-control-expose-headers'), 'Mcp-Session-Id');
      assert.ok(init.headers.get('mcp-session-id'));
    });

    it(`${where}: a disallowed origin still gets 403, preflight included, with no CORS headers`, async () => {
      for (const method of ['OPTIONS', 'POST']) {
        const res = await fetch(url(), {
          method,
          headers: { ...JSON_HEADERS, origin: 'http://evil.example' },
          body: method === 'POST' ? '{}' : undefined,
        });
        assert.equal(res.status, 403);
        assert.match(((await res.json()) as any).error.message, /^Invalid Origin header: http:\/\/evil\.example/);
        assert.equal(res.headers.get('access-control-allow-origin'), null);
      }
    });
  }
});
