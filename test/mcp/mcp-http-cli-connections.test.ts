/**
 * `hub mcp --http --max-connections N` (issue #22): the standalone MCP server caps its
 * open TCP connections as `hub serve` does, through the real CLI: past N a new
 * connection is answered `503` and closed before anything of it is read, and once
 * connections close new ones are served again. The default is the same as serve's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { DEFAULT_MAX_CONNECTIONS } from '../../src/index.js';
import { startHub } from '../support/hub-process.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';
import { eventually } from '../support/helpers.js';

/** A raw TCP connection, resolved once connected, recording what the server sends and whether it closed. */
function open(port: number): Promise<{ socket: Socket; text: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let text = '';
    let closed = false;
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, text: () => text, closed: () => closed }));
    socket.on('data', (d) => (text += d));
    socket.once('error', reject);
    socket.once('close', () => (closed = true));
  });
}

describe('hub mcp --http --max-connections', { timeout: 60_000 }, () => {
  it('the flag exists with serve’s default', () => {
    const help = execFileSync(process.execPath, [HUB_BIN, 'mcp', '--help'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.match(help, new RegExp(`--max-connections <n>[^]*?\\(default: ${DEFAULT_MAX_CONNECTIONS}\\)`));
  });

  it('3 allowed: the 4th connection gets 503 and is closed; after one closes, a new one is served', async () => {
    const hub = await startHub({ command: 'mcp', args: ['--http', '--max-connections', '3'] });
    const held: Awaited<ReturnType<typeof open>>[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await open(hub.port));
      const fourth = await open(hub.port);
      await eventually(() => fourth.closed(), 10_000);
      assert.match(fourth.text(), /^HTTP\/1\.1 503 Service Unavailable/);
      assert.match(fourth.text(), /Too many connections: the server has 3 open \(the limit\)/);
      // The three held ones were not refused.
      assert.deepEqual(
        held.map((c) => c.closed() || c.text() !== ''),
        [false, false, false],
      );
      held.pop()!.socket.destroy();
      // Once the server has seen the close (polled: it learns of it asynchronously),
      // a new connection is served: an HTTP answer that is not the 503.
      let answer = '';
      const deadline = Date.now() + 10_000;
      do {
        const c = await open(hub.port);
        c.socket.write(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\nConnection: close\r\n\r\n`);
        await eventually(() => c.closed(), 10_000);
        answer = c.text();
      } while (answer.startsWith('HTTP/1.1 503') && Date.now() < deadline);
      assert.match(answer, /^HTTP\/1\.1 (?!503)\d{3}/);
    } finally {
      for (const c of held) c.socket.destroy();
      await hub.stop();
    }
  });

  it('a bad value is refused at start with a clear message', () => {
    assert.throws(
      () => execFileSync(process.execPath, [HUB_BIN, 'mcp', '--http', '--max-connections', '0'], { cwd: REPO_ROOT, stdio: 'pipe' }),
      (e: { stderr: Buffer }) => /--max-connections/.test(e.stderr.toString()),
    );
  });
});
