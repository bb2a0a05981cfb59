// Issue 21 item 8: secrets reach no process that should not have them.
// - claudecode runs `claude` with bash's minimal environment plus an explicit allow-list
//   (`passEnv`, `$PLEXUS_HUB_CLAUDE_ENV`): the hub's ANTHROPIC_API_KEY, OPENAI_API_KEY and
//   PLEXUS_HUB_TOKEN are absent unless named.
// - one secret store, `<data dir>/secrets/<name>` (dir 0700, files 0600), set by
//   `hub secret set` from stdin (never argv), listed and removed by name; cone reads
//   provider keys from it.
//
// | transport        | applies | why                                                                  |
// |------------------|---------|----------------------------------------------------------------------|
// | any              | n/a     | the environment of a spawned `claude` and the store's files do not   |
// |                  |         | depend on how the call arrived; tests call in process and run the CLI |
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Arbor } from '../../activations/arbor/index.js';
import { ClaudeCode } from '../../activations/claudecode/index.js';
import { Cone, LlmRegistry } from '../../activations/cone/index.js';
import { SecretStore } from '../../src/auth/index.js';
import { DynamicHub } from '../../src/index.js';
import { writeFakeClaude } from '../fixtures/fake-claude.js';
import { ensureBuilt } from '../support/built.js';
import { FakeLlmServer } from '../support/fake-llm-server.js';
import { collect, contents, errorOf } from '../support/helpers.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-secrets-')));
after(() => rmSync(dir, { recursive: true, force: true }));

const HELD = { ANTHROPIC_API_KEY: 'sk-ant-held-by-hub', OPENAI_API_KEY: 'sk-openai-held-by-hub', PLEXUS_HUB_TOKEN: 'phub_held_by_hub' };

describe('claudecode: `claude` gets the minimal environment and only allow-listed extras', () => {
  const fake = writeFakeClaude(dir);
  const work = join(dir, 'project');
  mkdirSync(work, { recursive: true });
  const saved = { ...process.env };
  after(() => {
    for (const k of [...Object.keys(HELD), 'FAKE_CLAUDE_LOG', 'PLEXUS_HUB_CLAUDE_ENV']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  /** Runs one turn with a ClaudeCode made by `make` while the hub holds HELD; the env names `claude` saw. */
  async function envOfClaude(name: string, make: (arbor: Arbor) => ClaudeCode): Promise<string[]> {
    const log = join(dir, `${name}.jsonl`);
    Object.assign(process.env, HELD, { FAKE_CLAUDE_LOG: log });
    const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    const cc = make(arbor);
    try {
      const hub = new DynamicHub().register(arbor, cc);
      const created = await collect(hub.call('claudecode.create', { name, working_dir: work, model: 'haiku' }));
      assert.equal(errorOf(created), undefined);
      const turn = await collect(hub.call('claudecode.chat', { name, prompt: 'hi' }));
      assert.equal(errorOf(turn), undefined, JSON.stringify(errorOf(turn)));
      assert.ok(contents(turn).length > 0);
      const start = readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .find((e) => e.kind === 'start');
      return start.env as string[];
    } finally {
      cc.close();
      arbor.close();
    }
  }

  it('by default: none of the hub credentials; the allow-listed FAKE_CLAUDE_LOG is there', async () => {
    const env = await envOfClaude('default', (arbor) => new ClaudeCode({ arbor, claudePath: fake, passEnv: ['FAKE_CLAUDE_LOG'] }));
    for (const k of Object.keys(HELD)) assert.ok(!env.includes(k), `${k} reached claude`);
    assert.ok(env.includes('FAKE_CLAUDE_LOG') && env.includes('PATH'));
    // Nothing beyond the minimal set, the allow-list and the call's containment marker
    // (PLEXUS_CALL: which call a process belongs to, no secret).
    for (const k of env)
      assert.match(k, /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TZ|TMPDIR|TERM|LC_\w+|FAKE_CLAUDE_LOG|PLEXUS_CALL)$/);
  });

  it('passEnv names exactly what else it gets (here OPENAI_API_KEY, not the others)', async () => {
    const env = await envOfClaude(
      'allowed',
      (arbor) => new ClaudeCode({ arbor, claudePath: fake, passEnv: ['FAKE_CLAUDE_LOG', 'OPENAI_API_KEY'] }),
    );
    assert.ok(env.includes('OPENAI_API_KEY'));
    assert.ok(!env.includes('ANTHROPIC_API_KEY') && !env.includes('PLEXUS_HUB_TOKEN'));
  });

  it('$PLEXUS_HUB_CLAUDE_ENV is the allow-list `hub serve` uses', async () => {
    process.env.PLEXUS_HUB_CLAUDE_ENV = 'FAKE_CLAUDE_LOG, ANTHROPIC_API_KEY';
    const env = await envOfClaude('from-env', (arbor) => new ClaudeCode({ arbor, claudePath: fake }));
    assert.ok(env.includes('ANTHROPIC_API_KEY') && env.includes('FAKE_CLAUDE_LOG'));
    assert.ok(!env.includes('OPENAI_API_KEY') && !env.includes('PLEXUS_HUB_TOKEN'));
  });
});

describe('the secret store', () => {
  it('set writes <data dir>/secrets/<name> owner-only (dir 0700, file 0600), even under a permissive umask', () => {
    const data = join(dir, 'store-modes');
    const old = process.umask(0);
    try {
      new SecretStore(data).set('OPENAI_API_KEY', 'sk-from-store');
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(join(data, 'secrets')).mode & 0o777, 0o700);
    assert.equal(statSync(join(data, 'secrets', 'OPENAI_API_KEY')).mode & 0o777, 0o600);
    assert.equal(new SecretStore(data).get('OPENAI_API_KEY'), 'sk-from-store');
  });

  it('refuses names that are paths, files others can read, and symlinks', () => {
    const data = join(dir, 'store-refusals');
    const store = new SecretStore(data);
    for (const bad of ['../tokens.json', 'a/b', '.hidden', '', '-x']) assert.throws(() => store.set(bad, 'v'), /Invalid secret name/);
    store.set('K', 'v');
    chmodSync(join(data, 'secrets', 'K'), 0o644);
    assert.throws(() => store.get('K'), /accessible by other users \(mode 644\)/);
    writeFileSync(join(dir, 'elsewhere'), 'outside');
    symlinkSync(join(dir, 'elsewhere'), join(data, 'secrets', 'LINK'));
    assert.throws(() => store.get('LINK'), /symlink/);
  });

  it('hub secret set reads the value from stdin (not argv); list shows names only; rm removes', async () => {
    ensureBuilt();
    const data = join(dir, 'store-cli');
    const hub = (args: string[], input?: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [HUB_BIN, 'secret', ...args, '--data-dir', data], { cwd: REPO_ROOT });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c));
        child.stderr.on('data', (c: Buffer) => (stderr += c));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(input ?? '');
      });
    const set = await hub(['set', 'ANTHROPIC_API_KEY'], 'sk-ant-typed\n');
    assert.equal(set.code, 0, set.stderr);
    assert.ok(!`${set.stdout}${set.stderr}`.includes('sk-ant-typed'));
    assert.equal(readFileSync(join(data, 'secrets', 'ANTHROPIC_API_KEY'), 'utf8'), 'sk-ant-typed');
    // There is no way to pass the value as an argument.
    const argv = await hub(['set', 'X', 'sk-on-the-command-line']);
    assert.notEqual(argv.code, 0);
    const list = await hub(['list']);
    assert.equal(list.stdout, 'ANTHROPIC_API_KEY\n');
    assert.equal((await hub(['rm', 'ANTHROPIC_API_KEY'])).code, 0);
    assert.equal((await hub(['list'])).stdout, '');
    assert.notEqual((await hub(['rm', 'ANTHROPIC_API_KEY'])).code, 0);
  });
});

describe('cone reads provider keys from the secret store', () => {
  it('a built-in service by its env var name, and a configured one by api_key_secret, against the fake LLM server', async () => {
    const fake = await FakeLlmServer.start({ apiKey: 'sk-only-in-the-store' });
    const data = join(dir, 'cone-store');
    const secrets = new SecretStore(data);
    secrets.set('OPENAI_API_KEY', 'sk-only-in-the-store');
    secrets.set('local_llm', 'sk-only-in-the-store');
    const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    const llm = new LlmRegistry({
      // No key in the environment: only the base URL.
      env: { OPENAI_BASE_URL: fake.openaiBaseUrl },
      secrets,
      config: {
        services: { local: { format: 'openai', base_url: fake.openaiBaseUrl, api_key_secret: 'local_llm' } },
        models: { 'local-model': { service: 'local', model: 'gpt-4o-mini' } },
      },
    });
    const cone = new Cone({ arbor, llm });
    const hub = new DynamicHub('plexus').register(arbor, cone);
    try {
      for (const [name, model] of [
        ['builtin', 'gpt-4o-mini'],
        ['configured', 'local-model'],
      ]) {
        const created = await collect(hub.call('cone.create', { name, model_id: model }));
        assert.equal(errorOf(created), undefined);
        const items = await collect(hub.call('cone.chat', { identifier: { type: 'by_name', name }, prompt: 'hello' }));
        assert.equal(errorOf(items), undefined, JSON.stringify(errorOf(items)));
        assert.ok(!JSON.stringify(items).includes('sk-only-in-the-store'));
      }
      assert.equal(fake.requests.length, 2);
      for (const r of fake.requests) assert.equal(r.headers.authorization, 'Bearer sk-only-in-the-store');
    } finally {
      cone.close();
      arbor.close();
      await fake.close();
    }
  });

  it('without the key in the store or the environment, the call says which key to set', async () => {
    const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    const cone = new Cone({ arbor, llm: new LlmRegistry({ env: {}, secrets: new SecretStore(join(dir, 'empty-store')) }) });
    const hub = new DynamicHub('plexus').register(arbor, cone);
    try {
      await collect(hub.call('cone.create', { name: 'nokey', model_id: 'gpt-4o-mini' }));
      const items = await collect(hub.call('cone.chat', { identifier: { type: 'by_name', name: 'nokey' }, prompt: 'hello' }));
      assert.match(errorOf(items)?.message ?? JSON.stringify(contents(items)), /OPENAI_API_KEY/);
    } finally {
      cone.close();
      arbor.close();
    }
  });
});
