// Issue #21 item 6: the audit log can be neither trimmed nor flooded. Each rule is
// tried as a hostile client (or a hostile editor of the data dir) would.
//
// | rule                                   | where it applies                    | tested over                          |
// |----------------------------------------|-------------------------------------|--------------------------------------|
// | redaction by value (and env maps)      | the router's call observer: every   | WebSocket (a real call) + units      |
// |                                        |  transport records through it       |                                      |
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { REDACTED, redact, redactString } from '../../src/auth/redact.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, PlexusClient, serveWebSocket } from '../../src/index.js';
import { Shell } from '../fixtures/guarded.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'plexus-audit-'));
const recordsOf = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('redaction by value, inside strings', () => {
  const secrets = {
    openai: 'sk-proj-Q2x9vLm3Rt7YpWk4Zs8Nd1Hc6Bf0Ja5E',
    anthropic: 'sk-ant-api03-Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8L',
    github: 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8',
    githubFine: 'github_pat_11ABCDEFG0a1b2c3d4e5f6_g7h8i9j0k1l2m3n4o5',
    aws: 'AKIAIOSFODNN7EXAMPLE',
    hub: 'phub_N2SYqLhK81_1QIDDUICK3Sy2dru0RYMOJVT2_Wk6DNw',
    jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    random: 'Zq3Xw8Rv2Tn5Ym9Lk4Hj7Gf1Ds6Ap0Qe3Wc8Vb',
    bearer: 'a9F3k2L8q7W1e6R5t4Y0',
    password: 'hunter2hunter2',
  };
  const kept = {
    uuid: '550e8400-e29b-41d4-a716-446655440000',
    sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    hubHash: '0ef3e9aad675eb04',
    path: '/usr/local/lib/node_modules/typescript/lib/tsc.js',
    identifier: 'parseHttpHeaderValueForRequest2024',
    prose: 'basic functionality of the token store',
  };

  it('credential shapes are redacted where they stand; UUIDs, hashes, paths and words stay', () => {
    const line = [
      `OPENAI_API_KEY=${secrets.openai} ANTHROPIC=${secrets.anthropic} python run.py`,
      `git clone https://${secrets.github}@github.com/x/y; gh auth login --with-token ${secrets.githubFine}`,
      `aws --key ${secrets.aws} s3 ls; curl -H "Authorization: Bearer ${secrets.bearer}" -d jwt=${secrets.jwt}`,
      `hub call x --token ${secrets.hub}; echo ${secrets.random}; mysql --password=${secrets.password} -u root`,
      `mysql://root:${secrets.password}@db/x`,
      ...Object.values(kept),
    ].join(' | ');
    const out = redactString(line);
    for (const [name, s] of Object.entries(secrets)) assert.ok(!out.includes(s), `${name} leaked: ${out}`);
    for (const [name, s] of Object.entries(kept)) assert.ok(out.includes(s), `${name} was redacted: ${out}`);
    assert.match(out, /OPENAI_API_KEY=\[redacted\] /);
    assert.match(out, /Authorization: Bearer \[redacted\]"/);
    assert.match(out, /--password=\[redacted\] -u root/);
  });

  it('every value of an env map is redacted (keys stay); secret-looking key names at any depth; inside arrays', () => {
    const redacted = redact({
      command: `echo ${secrets.openai}`,
      env: { OPENAI_KEY: 'short', GITHUB_PAT: 'abc', AWS_ACCESS_KEY_ID: 'AKIA', HOME: '/root', nested: { x: 'y' } },
      options: { openai_key: 'v', github_pat: 'v', aws_secret_access_key: 'v', key: 'api', monkey: 'kept' },
      args: [`--token=${secrets.hub}`, kept.uuid],
    });
    const out = JSON.parse(JSON.stringify(redacted)) as Record<string, any>;
    assert.deepEqual(out.env, {
      AWS_ACCESS_KEY_ID: REDACTED,
      GITHUB_PAT: REDACTED,
      HOME: REDACTED,
      OPENAI_KEY: REDACTED,
      nested: { x: REDACTED },
    });
    assert.deepEqual(out.options, {
      aws_secret_access_key: REDACTED,
      github_pat: REDACTED,
      key: 'api',
      monkey: 'kept',
      openai_key: REDACTED,
    });
    assert.equal(out.command, `echo ${REDACTED}`);
    assert.deepEqual(out.args, [`--token=${REDACTED}`, kept.uuid]);
    // A secret straddling the truncation point is not half kept.
    const long = redact({ s: `${'a '.repeat(120)}${secrets.github}` }) as { s: string };
    assert.ok(!long.s.includes(secrets.github.slice(0, 12)), long.s);
  });

  it('over a real WebSocket call, the audit record of an execute call holds no secret from its command', async () => {
    const dir = tmp();
    const { token } = new TokenStore(dir).create({ name: 'ops', hub: 'plexus', grants: [parseGrant('shell.execute:execute')] });
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir, approvals: { standing: true } }); // redaction, not approvals
    const hub = new DynamicHub('plexus', { policy: auth }).register(new Shell());
    const server = await serveWebSocket(hub, { port: 0 });
    const client = new PlexusClient({ url: server.url, token, connectAttempts: 1 });
    try {
      const command = `OPENAI_KEY=${secrets.openai} GITHUB_PAT=${secrets.github} curl -H 'Authorization: Bearer ${secrets.bearer}' ${kept.uuid}`;
      for await (const _ of client.call('shell.execute', { command })) void _;
    } finally {
      client.close();
      await server.close({ graceMs: 0 });
      auth.close();
    }
    const text = readFileSync(auth.audit!.file, 'utf8');
    const record = recordsOf(auth.audit!.file).find((r) => r.path === 'shell.execute')!;
    assert.equal(record.outcome, 'ok');
    for (const s of [secrets.openai, secrets.github, secrets.bearer, token]) assert.ok(!text.includes(s));
    assert.equal(
      record.params.command,
      `OPENAI_KEY=${REDACTED} GITHUB_PAT=${REDACTED} curl -H 'Authorization: Bearer ${REDACTED}' ${kept.uuid}`,
    );
  });
});
