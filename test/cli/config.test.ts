/**
 * `hub serve --config`: one file for every serve flag and the settings of bash,
 * claudecode and cone, checked against the shipped JSON Schema (errors name the key
 * and the file), flags winning over it, `--print-config`, and secrets by name only.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { addServeCommand } from '../../cli/commands/serve.js';
import { hubConfigSchema, schemaFile } from '../../cli/hub-config.js';
import { PlexusClient } from '../../src/index.js';
import { writeFakeClaude } from '../fixtures/fake-claude.js';
import { runHubCli, startHub } from '../support/hub-process.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-config-')));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `hub <args>` with its own data dir unless the config names one; exit code and output. */
async function hub(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PLEXUS_HUB_DATA: join(dir, 'env-data') };
  delete env.PLEXUS_HUB_TOKEN;
  return runHubCli(args, { env, ...(input !== undefined ? { input } : {}) });
}

let n = 0;
function configFile(content: unknown): string {
  const file = join(dir, `config-${++n}.json`);
  writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

describe('the config file schema', () => {
  it('the shipped schema is the one made from the serve flags (UPDATE_GOLDEN=1 writes it)', () => {
    const program = new Command();
    addServeCommand(program);
    const made = `${JSON.stringify(hubConfigSchema(program.commands[0]!), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN) writeFileSync(schemaFile(), made);
    assert.equal(readFileSync(schemaFile(), 'utf8'), made, 'schema/hub-config.schema.json is stale: run this test with UPDATE_GOLDEN=1');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.ok(pkg.files.includes('schema'), 'the package ships schema/');
  });
});

describe('hub serve --config: validation', () => {
  it('an unknown key is an error naming the key and the file, at any depth', async () => {
    for (const [content, key] of [
      [{ serve: { prot: 1 } }, 'serve.prot'],
      [{ bash: { timeout: 5 } }, 'bash.timeout'],
      [{ dat_dir: './x' }, 'dat_dir'],
      [{ cone: { services: { local: { format: 'openai', base_url: 'http://x', key: 'k' } } } }, 'cone.services.local.key'],
    ] as const) {
      const file = configFile(content);
      const r = await hub(['serve', '--config', file, '--print-config']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `hub: config ${file}: unknown key "${key}"\n`);
    }
  });

  it('a wrong type or value is an error naming the key and the file', async () => {
    const port = configFile({ serve: { port: 'eighty' } });
    const r1 = await hub(['serve', '--config', port, '--print-config']);
    assert.equal(r1.code, 1);
    assert.equal(r1.stderr, `hub: config ${port}: "serve.port" must be integer\n`);
    const zero = configFile({ serve: { 'max-frame-bytes': 0 } });
    assert.match((await hub(['serve', '--config', zero, '--print-config'])).stderr, /"serve\.max-frame-bytes" must be >= 1\n$/);
    const names = configFile({ serve: { 'tool-names': 'camel' } });
    assert.match(
      (await hub(['serve', '--config', names, '--print-config'])).stderr,
      /"serve\.tool-names" must be one of "auto", "dotted", "underscore"\n$/,
    );
    const withs = configFile({ with: ['arbor', 'nope'] });
    assert.match((await hub(['serve', '--config', withs, '--print-config'])).stderr, /"with\.1" must be one of "arbor",/);
    const grace = configFile({ bash: { kill_grace_ms: 'soon' } });
    assert.match((await hub(['serve', '--config', grace, '--print-config'])).stderr, /config .*: "bash\.kill_grace_ms" must be integer\n$/);
  });

  it('a secret value written in the config is refused: tokens and provider keys are named', async () => {
    const token = configFile({ serve: { 'mount-token': 'hunter2' } });
    const r = await hub(['serve', '--config', token, '--print-config']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`config ${token}: "serve\\.mount-token" holds a secret value; .*hub secret set <name>.*\\{"secret": "<name>"\\}`),
    );
    assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
    const key = configFile({ cone: { services: { local: { format: 'openai', base_url: 'http://x', api_key: 'sk-123' } } } });
    const k = await hub(['serve', '--config', key, '--print-config']);
    assert.equal(k.code, 1);
    assert.match(k.stderr, /"cone\.services\.local\.api_key" holds a secret value; .*"api_key_secret": "<name>"/);
  });
});

describe('hub serve --config: the effective configuration', () => {
  it('--print-config: config values, flags winning over them, defaults for the rest; paths relative to the file', async () => {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const file = join(dir, 'sub', 'hub.json');
    writeFileSync(
      file,
      JSON.stringify({
        $schema: '../node_modules/plexus-hub/schema/hub-config.schema.json',
        with: ['bash'],
        data_dir: './state',
        serve: { port: 5123, 'max-streams': 7, explorer: false, 'allow-host': ['lan.local'], mount: { inv: 'ws://127.0.0.1:1' } },
        bash: { cwd: '.', default_timeout_ms: 1000 },
      }),
    );
    const r = await hub(['serve', '--config', file, '--print-config', '--max-streams', '9']);
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout);
    assert.deepEqual(shown.with, ['bash']);
    assert.equal(shown.data_dir, join(dir, 'sub', 'state'));
    assert.equal(shown.serve.port, 5123, 'from the config');
    assert.equal(shown.serve['max-streams'], 9, 'the flag wins');
    assert.equal(shown.serve.explorer, false);
    assert.deepEqual(shown.serve['allow-host'], ['lan.local']);
    assert.deepEqual(shown.serve.mount, { inv: 'ws://127.0.0.1:1' });
    assert.equal(shown.serve.host, '127.0.0.1', 'a default');
    assert.equal(shown.serve['max-frame-bytes'], 1024 * 1024, 'a default');
    assert.deepEqual(shown.bash, { cwd: join(dir, 'sub'), default_timeout_ms: 1000 });
    // And without a config: the defaults, so a user can start a config from it.
    const plain = JSON.parse((await hub(['serve', '--print-config'])).stdout);
    assert.equal(plain.serve.port, 4444);
    assert.equal(plain.serve.explorer, true);
  });

  it('a secret named in the config is read from the secret store; a missing one is an error naming it', async () => {
    const data = join(dir, 'secret-data');
    const created = await hub(['token', 'create', 'robot', '--grant', 'echo.*', '--data-dir', data]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim().split('\n').at(-1)!;
    const set = await hub(['secret', 'set', 'ROBOT_TOKEN', '--data-dir', data], `${token}\n`);
    assert.equal(set.code, 0, set.stderr);

    const file = configFile({ data_dir: data, serve: { token: { secret: 'ROBOT_TOKEN' } } });
    const printed = await hub(['serve', '--config', file, '--print-config']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.deepEqual(JSON.parse(printed.stdout).serve.token, { secret: 'ROBOT_TOKEN' });
    assert.ok(!printed.stdout.includes(token), 'the value is never printed');

    // Served on stdio, the hub acts as the token's principal: the secret was resolved.
    const child = spawn(process.execPath, [HUB_BIN, 'serve', '--stdio', '--config', file], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stderr! }).once('line', resolve));
    child.stdin!.end();
    child.kill('SIGKILL');
    assert.match(line, /on stdio as principal robot$/);

    const missing = configFile({ data_dir: data, serve: { 'mount-token': { secret: 'NOPE' } } });
    const m = await hub(['serve', '--config', missing, '--print-config']);
    assert.equal(m.code, 1);
    assert.match(
      m.stderr,
      new RegExp(`config ${missing}: "serve.mount-token" names the secret "NOPE", which is not in the secret store of ${data}`),
    );
  });
});

describe('hub serve --config: activation settings', () => {
  const work = join(dir, 'work');
  let url: string;
  let stop: () => Promise<unknown>;
  before(async () => {
    mkdirSync(work, { recursive: true });
    const file = configFile({
      with: ['bash', 'claudecode'],
      data_dir: join(dir, 'act-data'),
      serve: { builtins: false },
      bash: { cwd: work, max_output_bytes: 64 },
      claudecode: { binary: writeFakeClaude(dir), cwd: work },
    });
    const served = await startHub({ args: ['--config', file], env: { PLEXUS_HUB_CLAUDE: '/nonexistent/claude' } });
    url = served.url;
    stop = () => served.stop();
    assert.match(served.output(), /serving plexus \[arbor, claudecode, bash\]|serving plexus \[bash, arbor, claudecode\]/);
  });
  after(() => stop());

  it('bash runs in the configured cwd with the configured output cap', async () => {
    const client = new PlexusClient({ url });
    try {
      const pwd = await client.collect<{ type: string; line?: string }>('bash.execute', { command: 'pwd' });
      assert.equal(pwd[0]!.line, work);
      const capped = await client.collect<{ type: string; limit_bytes?: number }>('bash.execute', { command: 'yes' });
      assert.equal(capped.find((e) => e.type === 'truncated')?.limit_bytes, 64);
    } finally {
      client.close();
    }
  });

  it('claudecode uses the configured binary (over $PLEXUS_HUB_CLAUDE) and resolves working_dir against its cwd', async () => {
    const client = new PlexusClient({ url });
    try {
      const created = await client.result<{ type: string }>('claudecode.create', { name: 'cfg', working_dir: '.', model: 'haiku' });
      assert.equal(created.type, 'created');
      const events = await client.collect<{ type: string }>('claudecode.chat', { name: 'cfg', prompt: 'hello' });
      assert.equal(events.at(-1)!.type, 'complete');
      const got = await client.result<{ config: { working_dir: string } }>('claudecode.get', { name: 'cfg' });
      assert.equal(got.config.working_dir, work);
    } finally {
      client.close();
    }
  });
});
