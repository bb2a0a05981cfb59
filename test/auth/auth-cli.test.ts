// The auth commands as a user runs them: hub token create/list/revoke, hub serve's
// modes (open on loopback, refused elsewhere without a token store), hub call
// --token, hub audit verify. Credentials never reach a log line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT as root } from '../support/repo.js';
import { type HubExitedError, startHub } from '../support/hub-process.js';

const HUB = `${root}bin/hub.js`;

async function hub(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [HUB, ...args], { cwd: root, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const serve = (args: string[], env: NodeJS.ProcessEnv = {}) => startHub({ args: ['--no-builtins', ...args], env });

describe('hub token and hub audit commands, hub serve modes', () => {
  it('token create prints the token once on stdout; list and revoke never show it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-cli-auth-'));
    const created = await hub([
      'token',
      'create',
      'ci',
      '--grant',
      'vault.*:read,write',
      '--grant',
      'shell.execute:execute:once',
      '--ttl',
      '7d',
      '--data-dir',
      dir,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^phub_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /^created tok_[0-9a-f]{12} for ci on hub plexus, expires \d{4}-\d\d-\d\dT/);
    assert.match(created.stderr, /grants: vault\.\*:read,write shell\.execute:execute:once/);
    const list = await hub(['token', 'list', '--data-dir', dir]);
    assert.match(list.stdout, /tok_[0-9a-f]{12} {2}ci {2}hub=plexus {2}active/);
    const json = await hub(['token', 'list', '--json', '--data-dir', dir]);
    for (const out of [list.stdout, json.stdout, readFileSync(join(dir, 'tokens.json'), 'utf8')]) assert.ok(!out.includes(token));
    assert.ok(!json.stdout.includes('sha256'));
    const wild = await hub(['token', 'create', 'x', '--grant', 'shell.*:execute', '--data-dir', dir]);
    assert.equal(wild.code, 1);
    assert.match(wild.stderr, /execute can only be granted on a path without wildcards/);
    assert.equal((await hub(['token', 'revoke', 'ci', '--data-dir', dir])).code, 0);
    assert.match((await hub(['token', 'list', '--data-dir', dir])).stdout, / {2}revoked {2}/);
    const again = await hub(['token', 'revoke', 'ci', '--data-dir', dir]);
    assert.deepEqual([again.code, again.stderr.trim()], [1, 'hub: no active token with id or name "ci"']);
  });

  it('hub serve refuses a non-loopback bind without a token store, unless --insecure-no-auth; loopback without one is open and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-cli-auth-'));
    const err = (await serve(['--host', '0.0.0.0', '--data-dir', dir]).catch((e: HubExitedError) => e)) as HubExitedError;
    assert.equal(err.code, 1);
    assert.match(err.output, /refusing to serve on 0\.0\.0\.0 without authentication: create a token first \(hub token create/);
    const insecure = await serve(['--host', '0.0.0.0', '--data-dir', dir, '--insecure-no-auth']);
    assert.match(
      insecure.output(),
      /plexus-hub: auth open \(0\.0\.0\.0 \(--insecure-no-auth\), no token store\): every client may call every method/,
    );
    insecure.child.kill('SIGKILL');
    const open = await serve(['--data-dir', dir]);
    assert.match(open.output(), /plexus-hub: auth open \(loopback 127\.0\.0\.1, no token store\)/);
    open.child.kill('SIGKILL');
  });

  it('with a token store: hub call needs --token, the server logs no credential, and hub audit verify passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-cli-auth-'));
    const token = (await hub(['token', 'create', 'ci', '--grant', 'vault.*:read', '--data-dir', dir])).stdout.trim();
    const server = await serve(['--data-dir', dir, 'test/fixtures/guarded.ts']);
    const { url } = server;
    try {
      assert.match(server.output(), /plexus-hub: auth required: bearer tokens from .*tokens\.json; audit log .*audit\.jsonl/);
      const anon = await hub(['call', 'vault.peek', '--key', 'a', '--url', url]);
      assert.deepEqual(
        [anon.code, anon.stderr.trim()],
        [1, 'error -32001: Authentication required: present a token as "Authorization: Bearer <token>"'],
      );
      const ok = await hub(['call', 'vault.peek', '--key', 'a', '--url', url, '--token', token]);
      assert.deepEqual([ok.code, ok.stdout.trim()], [0, '"value of a"']);
      const viaEnv = await hub(['call', 'shell.execute', '--command', 'ls', '--url', url], { PLEXUS_HUB_TOKEN: token });
      assert.deepEqual([viaEnv.code, viaEnv.stderr.trim()], [1, 'error -32601: Activation not found: shell']);
      const wrong = await hub(['call', 'vault.peek', '--key', 'a', '--url', url, '--token', `${token}x`]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /authentication failed \(HTTP 401\)/);
      assert.ok(!wrong.stderr.includes(token));
      const schema = await hub(['schema', '--url', url, '--token', token]);
      assert.match(schema.stdout, /vault {2}v1\.0\.0/);
      assert.doesNotMatch(schema.stdout, /shell/);
    } finally {
      await server.stop('SIGTERM');
    }
    assert.ok(!server.output().includes(token), 'the server never logs a token');
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    assert.ok(!audit.includes(token));
    const verify = await hub(['audit', 'verify', '--data-dir', dir]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^ok: \d+ records, chain intact, last hash [0-9a-f]{64}\n$/);
  });
});
