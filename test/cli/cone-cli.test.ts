// `hub serve --with cone` and `hub call cone.chat --text content` as a user runs them:
// real child processes, a SQLite file in a temp data dir, the fake provider on loopback.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { FakeLlmServer, settledWithin } from '../support/fake-llm-server.js';
import { eventually } from '../support/helpers.js';
import { REPO_ROOT as root } from '../support/repo.js';
import { startHub, type HubProcess } from '../support/hub-process.js';

const HUB = join(root, 'bin', 'hub.js');
const run = promisify(execFile);
const KEY = 'sk-test-cli-0123456789abcdef';

describe('hub serve --with cone, hub call cone.chat', () => {
  let fake: FakeLlmServer;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: HubProcess | undefined;

  const serve = () => startHub({ args: ['--no-builtins', '--with', 'cone', '--data-dir', dataDir], env });

  async function hub(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [HUB, ...args, '--url', server!.url], { cwd: root, env });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  before(async () => {
    fake = await FakeLlmServer.start({ apiKey: KEY });
    dataDir = mkdtempSync(join(tmpdir(), 'plexus-cone-cli-'));
    env = { ...process.env, OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: '', PLEXUS_LLM_CONFIG: '' };
    server = await serve();
  });
  after(async () => {
    if (server) await server.stop('SIGTERM');
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('--with cone serves arbor and cone; create, then chat printing the tokens as text', async () => {
    const created = await hub(['call', 'cone.create', '--name', 'demo', '--model_id', 'gpt-4o-mini', '--system_prompt', 'Be brief.']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).type, 'cone_created');
    fake.enqueue({ chunks: ['Hello', ' from', ' the', ' CLI.'] });
    const chat = await hub(['call', 'cone.chat', '--identifier', 'demo', '--prompt', 'Say hello', '--text', 'content']);
    assert.deepEqual(chat, { code: 0, stdout: 'Hello from the CLI.\n', stderr: '' });
    const trees = await hub(['call', 'arbor.tree_list']);
    assert.equal(JSON.parse(trees.stdout).tree_ids.length, 1);
  });

  it('prints each token while the answer is still streaming', async () => {
    fake.enqueue({ chunks: ['first ', 'second ', 'never'], then: 'hang', after: 2 });
    const child = spawn(
      process.execPath,
      [HUB, 'call', 'cone.chat', '--identifier', 'demo', '--prompt', 'stream', '--text', 'content', '--url', server!.url],
      { cwd: root, env },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      // The provider holds the rest back; the CLI has already printed what came.
      await eventually(() => out === 'first second ', 10_000);
      assert.equal(child.exitCode, null, 'the call is still running');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    // The CLI going away cancels the call: the hub closes the provider request.
    assert.ok(await settledWithin(fake.last!, 5_000), 'the provider connection is still open');
    assert.equal(fake.last!.clientClosed, true);
  });

  it('a provider failure: the error on stderr with its code, exit 1', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after': '20' }, errorMessage: 'slow down' });
    const chat = await hub(['call', 'cone.chat', '--identifier', 'demo', '--prompt', 'again', '--text', 'content']);
    assert.equal(chat.code, 1);
    assert.equal(chat.stdout, '');
    assert.equal(
      chat.stderr,
      'error cone.provider_rate_limited: Failed to start LLM stream: openai answered HTTP 429 (rate_limit_exceeded): slow down; retry after 20 s\n',
    );
  });

  it('the conversation survives a restart: the next chat sends it as context', async () => {
    await server!.stop('SIGTERM');
    server = await serve();
    fake.enqueue({ chunks: ['Still here.'] });
    const chat = await hub(['call', 'cone.chat', '--identifier', 'demo', '--prompt', 'Remember me?', '--text', 'content']);
    assert.equal(chat.stdout, 'Still here.\n');
    const sent = (fake.last!.body.messages as { role: string; content: string }[]).map((m) => `${m.role}: ${m.content}`);
    assert.deepEqual(sent, ['system: Be brief.', 'user: Say hello', 'assistant: Hello from the CLI.', 'user: Remember me?']);
  });

  it('a broken LLM config stops hub serve with a clear error that does not quote the file', async () => {
    const config = join(dataDir, 'llm.json');
    writeFileSync(config, '{"services": {"local": {"format": "grpc", "api_key": "sk-secret-in-config-123456"}}}');
    const r = await run(process.execPath, [HUB, 'serve', '--port', '0', '--with', 'cone', '--data-dir', join(dataDir, 'other')], {
      cwd: root,
      env: { ...env, PLEXUS_LLM_CONFIG: config },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `hub: service 'local': format must be one of "anthropic", "openai", "azure", "gemini"\n`);
  });
});
