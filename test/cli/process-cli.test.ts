import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { writeFakeClaude } from '../fixtures/fake-claude.js';
import { eventually } from '../support/helpers.js';
import { assertGone, assertNoLeftovers, isRunning, SKIP_NO_PROC } from '../support/processes.js';
import { runHubCli, startHub } from '../support/hub-process.js';
import { RawClient } from '../support/raw-client.js';

const MARK = randomUUID();
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-process-cli-')));

const hub = (args: string[]) => runHubCli(args);

const serve = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  startHub({ args: ['--no-builtins', ...args], env: { PLEXUS_HUB_DATA: join(dir, 'data'), ...env } });

/** The raw client, calling under ids the test names. */
class Raw extends RawClient {
  callAs(id: number, method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', id, method: 'plexus.call', params: { method, params } });
  }
  async contents(id: number): Promise<any[]> {
    await eventually(() => this.frames.some((f) => f.id === id), 10_000);
    const sub = this.frames.find((f) => f.id === id).result;
    const mine = () => this.frames.filter((f) => f.params?.subscription === sub).map((f) => f.params.result);
    await eventually(() => mine().some((i) => i.type === 'done'), 10_000);
    return mine()
      .filter((i) => i.type === 'data')
      .map((i) => i.content);
  }
}

describe('hub serve --with bash,claudecode', { skip: SKIP_NO_PROC }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('bash is opt-in: absent without --with, served with it', async () => {
    const plain = await serve([]);
    const c = await Raw.open(plain.url);
    c.callAs(1, 'bash.execute', { command: 'true' });
    await eventually(() => c.frames.some((f) => f.params?.result?.type === 'error'), 10_000);
    assert.match(c.frames.find((f) => f.params?.result?.type === 'error').params.result.message, /Activation not found: bash/);
    c.ws.close();
    plain.child.kill('SIGKILL');
  });

  it('SIGTERM to the hub kills the process group of a running command', async () => {
    // Host pids, printed by the processes themselves ($$ and $! are namespace pids).
    const ME = 'read p _ < /proc/self/stat; echo $p';
    const hub = await serve(['--with', 'bash']);
    assert.match(hub.lines.join('\n'), /serving plexus \[bash\]/);
    const c = await Raw.open(hub.url);
    c.callAs(1, 'bash.execute', { command: `${ME}; (${ME}; exec sleep 300) & wait`, env: { PLEXUS_TEST_MARK: MARK } });
    await eventually(() => c.frames.filter((f) => f.params?.result?.content?.type === 'stdout').length === 2, 10_000);
    const pids = c.frames.filter((f) => f.params?.result?.content?.type === 'stdout').map((f) => Number(f.params.result.content.line));
    assert.ok(pids.every(isRunning));
    const exited = new Promise((r) => hub.child.once('exit', r));
    hub.child.kill('SIGTERM');
    await exited;
    await assertGone(pids);
  });

  it('claudecode with arbor over the data dir, driving a fake claude binary', async () => {
    const work = join(dir, 'work');
    mkdirSync(work, { recursive: true });
    const hub = await serve(['--with', 'claudecode'], { PLEXUS_HUB_CLAUDE: writeFakeClaude(dir) });
    try {
      const c = await Raw.open(hub.url);
      c.callAs(1, 'claudecode.create', { name: 'cli', working_dir: work, model: 'haiku' });
      const [created] = await c.contents(1);
      assert.equal(created.type, 'created');
      c.callAs(2, 'claudecode.chat', { name: 'cli', prompt: 'hello there' });
      const events = await c.contents(2);
      assert.deepEqual(
        events.map((e) => e.type),
        ['start', 'content', 'content', 'content', 'complete'],
      );
      c.callAs(3, 'arbor.tree_render', { tree_id: created.head.tree_id });
      assert.match((await c.contents(3))[0].render, /you said: hello there/);
      c.ws.close();
    } finally {
      hub.child.kill('SIGKILL');
    }
  });

  it('a failed claude turn fails the call: hub call exits 1 (--text shows why), MCP answers isError; a bash kill too, a non-zero exit not', async () => {
    const work = join(dir, 'work-failed');
    mkdirSync(work, { recursive: true });
    const served = await serve(['--with', 'claudecode,bash'], { PLEXUS_HUB_CLAUDE: writeFakeClaude(dir) });
    try {
      const created = await hub([
        'call',
        'claudecode.create',
        '--name',
        'f',
        '--working_dir',
        work,
        '--model',
        'haiku',
        '--url',
        served.url,
      ]);
      assert.equal(created.code, 0, created.stderr);

      const crashed = await hub(['call', 'claudecode.chat', '--name', 'f', '--prompt', 'crash', '--url', served.url]);
      assert.equal(crashed.code, 1);
      assert.match(crashed.stdout, /"type": ?"error"/, 'the in-band error event is still printed');
      assert.match(crashed.stderr, /claudecode\.turn_failed: claude turn failed: claude exited with code 3/);

      const text = await hub(['call', 'claudecode.chat', '--name', 'f', '--prompt', 'fail', '--text', 'content', '--url', served.url]);
      assert.equal(text.code, 1);
      assert.match(text.stderr, /claude turn failed: API overloaded/);

      const ok = await hub(['call', 'claudecode.chat', '--name', 'f', '--prompt', 'hello', '--text', 'content', '--url', served.url]);
      assert.equal(ok.code, 0, ok.stderr);

      const nonZero = await hub(['call', 'bash.execute', '--command', 'exit 3', '--url', served.url]);
      assert.equal(nonZero.code, 0, nonZero.stderr);
      assert.match(nonZero.stdout, /"code": ?3/);
      const killed = await hub(['call', 'bash.execute', '--command', 'kill -KILL $$', '--url', served.url]);
      assert.equal(killed.code, 1);
      assert.match(killed.stderr, /command was killed by SIGKILL/);

      const mcp = new Client({ name: 'process-cli-test', version: '1.0.0' });
      await mcp.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${served.port}/mcp`)));
      try {
        const failed = await mcp.callTool({ name: 'claudecode_chat', arguments: { name: 'f', prompt: 'fail' } });
        assert.equal(failed.isError, true);
        assert.match(JSON.stringify(failed.content), /claude turn failed: API overloaded/);
        const fine = await mcp.callTool({ name: 'claudecode_chat', arguments: { name: 'f', prompt: 'hello' } });
        assert.notEqual(fine.isError, true);
      } finally {
        await mcp.close();
      }
    } finally {
      await served.stop();
    }
  });

  it('leaves no running process behind', async () => {
    await assertNoLeftovers(MARK);
  });
});
