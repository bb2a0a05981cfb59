import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT as root } from '../support/repo.js';
import { eventually } from '../support/helpers.js';
import { startHub } from '../support/hub-process.js';

async function mcpTools(url: string): Promise<string[]> {
  const client = new Client({ name: 'cli-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

ensureBuilt();
const HUB = `${root}bin/hub.js`;
const run = promisify(execFile);

const serve = (args: string[]) => startHub({ args });

async function hub(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('hub CLI against a live hub serve', () => {
  let server: { child: ChildProcess; url: string };
  before(async () => {
    server = await serve([]);
  });
  after(() => server.child.kill('SIGKILL'));

  it('hub call prints data items and exits 0; params are typed by the schema', async () => {
    const r = await hub(['call', 'echo.echo', '--message', '42', '--count', '2', '--url', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(`[${r.stdout.trim().replace(/}\n{/g, '},{')}]`), [
      { message: '42', seq: 1 },
      { message: '42', seq: 2 },
    ]);
  });

  it('hub call --raw prints JSON lines of every item; --json takes params as one object', async () => {
    const r = await hub(['call', 'solar.earth.luna.info', '--raw', '--url', server.url]);
    const items = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      items.map((i) => i.type),
      ['data', 'done'],
    );
    assert.equal(items[0].content.name, 'Luna');
    const j = await hub(['call', 'echo.once', '--json', '{"message":"js"}', '--raw', '--url', server.url]);
    assert.equal(JSON.parse(j.stdout.split('\n')[0]!).content.message, 'js');
  });

  it('hub call exits non-zero on an error item and says why', async () => {
    const r = await hub(['call', 'echo.echo', '--count', '1', '--url', server.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error -32602: Invalid params: missing required param 'message'/);
  });

  it('hub schema prints the tree readably; --json prints the raw schema', async () => {
    const r = await hub(['schema', '--url', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^plexus {2}v1\.0\.0 {2}hash [0-9a-f]{16}$/m);
    assert.match(r.stdout, /• echo\(message: string, count\?: number = 1\) ⇉ stream of EchoEvent {2}\[[0-9a-f]{16}\]/);
    assert.match(r.stdout, /^ {6}solar\.earth\.luna {2}v1\.0\.0/m);
    const j = await hub(['schema', 'echo.echo', '--json', '--url', server.url]);
    assert.equal(JSON.parse(j.stdout).name, 'echo');
  });

  it('serves MCP at /mcp on the same port', async () => {
    const tools = await mcpTools(`${server.url.replace('ws://', 'http://')}/mcp`);
    assert.ok(tools.includes('echo.echo') && tools.includes('solar.earth.luna.info'));
  });

  it('serves the schema explorer page at / on the same port', async () => {
    const res = await fetch(`${server.url.replace('ws://', 'http://')}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await res.text(), /<title>plexus-hub explorer<\/title>/);
    const other = await fetch(`${server.url.replace('ws://', 'http://')}/nothing-here`);
    assert.equal(other.status, 426); // not a page: still told to use a WebSocket
  });

  it('a connection failure is a clear message and exit 1', async () => {
    const r = await hub(['call', 'echo.once', '--message', 'x', '--url', 'ws://127.0.0.1:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /hub: Cannot connect to ws:\/\/127\.0\.0\.1:1/);
  });
});

describe('hub mcp --http', () => {
  it('serves streamable HTTP at /mcp and prints its URL', async () => {
    const { url, stop } = await startHub({ command: 'mcp', args: ['--http', '--tool-names', 'underscore'] });
    try {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const tools = await mcpTools(url);
      assert.ok(tools.includes('echo_echo'));
      assert.ok(tools.every((t) => !t.includes('.')));
    } finally {
      await stop();
    }
  });
});

describe('hub serve --stdio', () => {
  it('speaks the same JSON-RPC, one message per line, logs on stderr', async () => {
    const child = spawn(process.execPath, [HUB, 'serve', '--stdio'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout! });
    const got: any[] = [];
    const done = new Promise<void>((resolve) =>
      lines.on('line', (l) => {
        got.push(JSON.parse(l));
        if (got.filter((m) => m.params?.result?.type === 'done').length === 2) resolve();
      }),
    );
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.write(
      '{"jsonrpc":"2.0","id":1,"method":"plexus.call","params":{"method":"echo.echo","params":{"message":"s","count":2}}}\n',
    );
    child.stdin!.write('not json\n');
    child.stdin!.write('{"jsonrpc":"2.0","id":2,"method":"plexus.hash"}\n');
    await done;
    child.stdin!.end();
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
    const sub1 = got.find((m) => m.id === 1).result;
    assert.deepEqual(
      got.filter((m) => m.params?.subscription === sub1).map((m) => m.params.result.type),
      ['data', 'data', 'done'],
    );
    assert.equal(got.find((m) => m.id === null).error.code, -32700);
    assert.match(stderr, /serving plexus .* on stdio/);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM lets a short stream finish, cancels a long one, closes sockets with a reason and exits 0', async () => {
    const { child, url } = await serve(['test/fixtures/kitchen.ts']);
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    const frames: any[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    const closed = new Promise<[number, string]>((r) => ws.once('close', (c, reason) => r([c, reason.toString()])));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'kitchen.forever' } }));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'plexus.call', params: { method: 'kitchen.later', params: { ms: 300 } } }));
    await eventually(() => frames.length >= 3);
    child.kill('SIGTERM');
    const exit = new Promise((r) => child.once('exit', r));
    const [code, reason] = await closed;
    assert.equal(code, 1001);
    assert.equal(reason, 'Server shutting down');
    const later = frames.find((f) => f.id === 2).result;
    assert.deepEqual(
      frames.filter((f) => f.params?.subscription === later).map((f) => f.params.result.content ?? f.params.result.type),
      [300, 'done'],
    );
    assert.equal(await exit, 0);
  });
});

describe('npm run schema:build', () => {
  it("fills the schema cache of the given modules without a running server (the built-ins' schemas ship in dist/)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-cache-'));
    try {
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const env = { ...process.env, PLEXUS_HUB_CACHE: dir };
      const { stdout } = await run(npm, ['run', '--silent', 'schema:build', '--', 'examples/greeter.ts'], { cwd: root, env });
      assert.match(stdout, /schemas ready in \d+ ms \(root hash [0-9a-f]{16}\)/);
      assert.equal(readdirSync(dir).filter((f) => f.endsWith('.json')).length, 1, "one cache entry, the greeter's");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
