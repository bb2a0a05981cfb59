/**
 * A join is privileged: the joined hub receives every call below its name, params and
 * all. These are the attacks of issue 21 (item 1), as a hostile client runs them.
 *
 * | rule                                                  | WebSocket `_join` (first frame) | `_join` later on a WS / over stdio | MCP HTTP, MCP stdio, through a mount |
 * |-------------------------------------------------------|---------------------------------|------------------------------------|--------------------------------------|
 * | required mode: authenticated + grant `_join.<name>`   | tested (no token, no grant, wildcards) | tested: an unknown method, nothing mounted | n/a: no join there (`_join` is no tool, a mount relays calls only) |
 * | open mode: `--allow-join` needs `--join-token`        | tested (the hub refuses to start) | —                                  | n/a                                  |
 * | a name stays bound to its first credential            | tested (while connected, after a restart, `hub join release`) | — | n/a                                  |
 * | joined children capped (default 64, `--max-joins`)    | tested (200 joins)              | —                                  | n/a                                  |
 *
 * Each refusal: a JSON-RPC error (code + message), the socket closed with 1008, and
 * nothing sent to the attacker but that error — so no call was routed to it — and a
 * `join` record in the audit log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import {
  acceptJoins,
  defineActivation,
  DynamicHub,
  joinParent,
  serveWebSocket,
  HubAuth,
  JoinBindings,
  parseGrant,
  PlexusClient,
  TokenStore,
  type PluginSchema,
  type StreamItem,
} from '../../src/index.js';
import { INVENTORY, until } from '../support/federation.js';
import { collect, eventually } from '../support/helpers.js';
import { type HubExitedError, startHub, type HubProcess } from '../support/hub-process.js';
import { RawClient } from '../support/raw-client.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';

const run = promisify(execFile);
const dirs: string[] = [];
const processes: HubProcess[] = [];
after(async () => {
  for (const p of processes) await p.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'plexus-join-auth-'));
  dirs.push(d);
  return d;
}
async function start(args: string[]): Promise<HubProcess> {
  const p = await startHub({ args });
  processes.push(p);
  return p;
}
function hub(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [HUB_BIN, ...args], { cwd: REPO_ROOT });
}

/** A raw `_join` as the first frame: what came back, and how the socket closed. */
interface Attempt {
  readonly answer: { result?: { mounted: string }; error?: { code: number; message: string } };
  /** Every frame the attacker received. */
  readonly frames: unknown[];
  readonly client: RawClient;
  readonly closed: Promise<number>;
}
async function attemptJoin(url: string, name: unknown, opts: { bearer?: string; joinToken?: string } = {}): Promise<Attempt> {
  const client = await RawClient.open(url, opts.bearer ? { headers: { authorization: `Bearer ${opts.bearer}` } } : {});
  const closed = new Promise<number>((r) => client.ws.once('close', (code) => r(code)));
  client.send({ jsonrpc: '2.0', id: 1, method: '_join', params: { name, ...(opts.joinToken ? { token: opts.joinToken } : {}) } });
  const answer = await client.response(1);
  return { answer, frames: client.frames, client, closed };
}
/** Refused: the error, a 1008 close, and nothing else ever reached the attacker (no `_info`, no call). */
async function assertRefused(a: Attempt, code: number, message: RegExp): Promise<void> {
  assert.equal(a.answer.error?.code, code, JSON.stringify(a.answer));
  assert.match(a.answer.error!.message, message);
  assert.equal(await a.closed, 1008);
  assert.deepEqual(a.frames, [a.answer], 'the attacker received only the refusal');
}

async function callAs(url: string, token: string, path: string, params: Record<string, unknown>): Promise<StreamItem[]> {
  const client = new PlexusClient({ url, token, connectAttempts: 1 });
  try {
    const out: StreamItem[] = [];
    for await (const item of client.call(path, params)) out.push(item);
    return out;
  } finally {
    client.close();
  }
}
const data = (items: readonly StreamItem[]) => items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content);

async function childrenOf(url: string, token: string): Promise<string[]> {
  const client = new PlexusClient({ url, token, connectAttempts: 1 });
  try {
    return (((await client.schema()) as PluginSchema).children ?? []).map((c) => c.namespace);
  } finally {
    client.close();
  }
}

interface AuditLine {
  event: string;
  principal: string;
  token_id?: string;
  path?: string;
  outcome: string;
  code?: number;
  reason?: string;
}
function joinRecords(dataDir: string): AuditLine[] {
  return readFileSync(join(dataDir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine)
    .filter((r) => r.event === 'join');
}

describe('joins are privileged (required mode): the grant _join.<name>, held by an authenticated principal', () => {
  const dataDir = tempDir();
  const store = new TokenStore(dataDir);
  const make = (name: string, grants: string[]) => store.create({ name, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) });
  const edge = make('edge', ['_join.edge1']);
  // Holds the same grant: a legitimate joiner elsewhere, but not the credential edge1 is bound to.
  const rival = make('rival', ['_join.edge1']);
  const nogrant = make('nogrant', ['edge1.**:read']);
  // Everything a wildcard can say, and join wildcards as if hand-edited into the store (parseGrant refuses them).
  const wild = store.create({
    name: 'wild',
    hub: 'plexus',
    grants: [
      { pattern: '**', verbs: ['read', 'write'] },
      { pattern: '_join.*', verbs: ['read', 'write'] },
      { pattern: '_join.**', verbs: ['read', 'write'] },
    ],
  });
  const caller = make('caller', ['edge1.**:read']);
  let parent: HubProcess;
  const parentArgs = ['--no-builtins', '--data-dir', dataDir, '--allow-join', '--watch-ms', '100', '--reconnect-max-ms', '300'];
  const edgeArgs = (url: string) => [
    '--no-builtins',
    '--data-dir',
    tempDir(),
    '--join',
    url,
    '--name',
    'edge1',
    '--parent-token',
    edge.token,
    '--reconnect-max-ms',
    '300',
    INVENTORY,
  ];
  before(async () => {
    parent = await start(parentArgs);
  });

  it('refuses a join without a token (-32001), without the grant and with every wildcard (-32003); nothing is mounted', async () => {
    await assertRefused(await attemptJoin(parent.url, 'edge1'), -32001, /^Join refused: Authentication required/);
    await assertRefused(
      await attemptJoin(parent.url, 'edge1', { bearer: nogrant.token }),
      -32003,
      /^Join refused: joining as "edge1" needs a token holding the grant _join\.edge1 \(no wildcard grants a join\)$/,
    );
    await assertRefused(
      await attemptJoin(parent.url, 'edge1', { bearer: wild.token }),
      -32003,
      /needs a token holding the grant _join\.edge1/,
    );
    // The edge's grant names edge1 only.
    await assertRefused(await attemptJoin(parent.url, 'other', { bearer: edge.token }), -32003, /grant _join\.other/);
    // A token in the join params is no substitute for one on the upgrade.
    await assertRefused(await attemptJoin(parent.url, 'edge1', { joinToken: edge.token }), -32001, /Authentication required/);
    assert.deepEqual(await childrenOf(parent.url, wild.token), []);

    // Every refusal is audited with its code, never with a credential. Refusals of a
    // caller without a credential are rate-summarised (one record per address and
    // interval, then a count): the second unauthenticated attempt is not a record of its own.
    const records = await until(async () => {
      const r = joinRecords(dataDir);
      if (r.length < 4) throw new Error(`${r.length} join records`);
      return r;
    });
    assert.deepEqual(
      records.map((r) => [r.principal, r.path, r.outcome, r.code]),
      [
        ['unauthenticated', '_join.edge1', 'unauthenticated', -32001],
        ['nogrant', '_join.edge1', 'denied', -32003],
        ['wild', '_join.edge1', 'denied', -32003],
        ['edge', '_join.other', 'denied', -32003],
      ],
    );
    const log = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8');
    for (const t of [edge, rival, nogrant, wild]) assert.ok(!log.includes(t.token));
  });

  it('hub token create refuses a join grant with a wildcard or :once', async () => {
    for (const grant of ['_join.*', '_join.**', '_join.edge1:read:once']) {
      await assert.rejects(
        hub('token', 'create', 'x', '--grant', grant, '--data-dir', tempDir()),
        (err: { stderr: string }) => /a join (is granted for one name only|grant cannot be one-time)/.test(err.stderr),
        grant,
      );
    }
  });

  it('binds edge1 to the credential that joined first: another is refused while it is connected and after a restart', async () => {
    let child = await start(edgeArgs(parent.url));
    const ok = await until(async () => {
      const got = await callAs(parent.url, caller.token, 'edge1.inventory.get', { sku: 'db-password' });
      if (!data(got).length) throw new Error(JSON.stringify(got));
      return got;
    });
    assert.deepEqual(data(ok), [{ sku: 'db-password', count: 11 }]);

    // Takeover while connected: refused; the 20 calls that follow are all answered by the real edge1.
    const takeover = await attemptJoin(parent.url, 'edge1', { bearer: rival.token });
    await assertRefused(
      takeover,
      -32003,
      /^Join refused: "edge1" is bound to another credential \(since .*\); `hub join release edge1` frees it$/,
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => callAs(parent.url, caller.token, 'edge1.inventory.get', { sku: `db-password-${i}` })),
    );
    answers.forEach((items, i) => assert.deepEqual(data(items), [{ sku: `db-password-${i}`, count: 12 + String(i).length }]));
    assert.deepEqual(takeover.frames, [takeover.answer], 'no call reached the rival');

    // The binding is in the data dir, as `hub join list` shows it.
    const listed = (await hub('join', 'list', '--data-dir', dataDir)).stdout;
    assert.match(listed, new RegExp(`^edge1  token:${edge.record.id}  edge  bound \\S+\\n$`));

    // After a restart of the parent (the edge gone meanwhile): the rival is still refused, the edge gets its name back.
    await child.stop();
    await parent.stop();
    parent = await start(parentArgs);
    await assertRefused(await attemptJoin(parent.url, 'edge1', { bearer: rival.token }), -32003, /"edge1" is bound to another credential/);
    assert.deepEqual(await childrenOf(parent.url, wild.token), []);
    child = await start(edgeArgs(parent.url));
    await until(async () => {
      const got = await callAs(parent.url, caller.token, 'edge1.inventory.get', { sku: 'again' });
      if (!data(got).length) throw new Error(JSON.stringify(got));
    });
    const audit = await until(async () => {
      const r = joinRecords(dataDir).filter((x) => x.principal === 'rival' || x.principal === 'edge');
      if (r.filter((x) => x.outcome === 'ok').length < 2) throw new Error('not yet');
      return r;
    });
    assert.deepEqual(
      audit.map((r) => [r.principal, r.outcome, r.code ?? null]),
      [
        ['edge', 'denied', -32003],
        ['edge', 'ok', null],
        ['rival', 'denied', -32003],
        ['rival', 'denied', -32003],
        ['edge', 'ok', null],
      ],
    );
    assert.equal(audit[1]!.token_id, edge.record.id);

    // `hub join release` frees the name: the next credential allowed to join owns it.
    await child.stop();
    assert.match(
      (await hub('join', 'release', 'edge1', '--data-dir', dataDir)).stdout,
      /^released edge1 \(was bound to token:tok_\w+, edge\)\n$/,
    );
    await assert.rejects(hub('join', 'release', 'edge1', '--data-dir', dataDir), (err: { stderr: string }) =>
      /"edge1" is not bound to any credential/.test(err.stderr),
    );
    const rejoin = await attemptJoin(parent.url, 'edge1', { bearer: rival.token });
    assert.deepEqual(rejoin.answer.result, { mounted: 'edge1', parent: 'plexus' });
    assert.match((await hub('join', 'list', '--data-dir', dataDir)).stdout, new RegExp(`^edge1  token:${rival.record.id}  rival `));
    rejoin.client.close();
  });

  it('_join anywhere but the first WebSocket frame, or over stdio, is no join: an unknown method, nothing mounted', async () => {
    const client = await RawClient.open(parent.url, { headers: { authorization: `Bearer ${wild.token}` } });
    assert.ok('result' in (await client.request('plexus.hash')));
    const later = await client.request('_join', { name: 'late' });
    assert.equal(later.error?.code, -32601);
    client.close();

    // Its own (open) data dir: the trusted parent of a stdio hub may call anything, and still cannot join.
    const stdio = spawn(process.execPath, [HUB_BIN, 'serve', '--stdio', '--no-builtins', '--data-dir', tempDir()], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const lines = createInterface({ input: stdio.stdout! });
    const first = new Promise<string>((r) => lines.once('line', r));
    stdio.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: '_join', params: { name: 'piped' } })}\n`);
    const answer = JSON.parse(await first) as { error?: { code: number } };
    assert.equal(answer.error?.code, -32601);
    stdio.stdin!.end();
    await new Promise((r) => stdio.once('exit', r));
    assert.ok(!(await childrenOf(parent.url, wild.token)).some((n) => n === 'late' || n === 'piped'));
  });
});

describe('joins are privileged (open mode): --allow-join needs --join-token, and joined children are capped', () => {
  it('refuses to start with --allow-join and no --join-token, or with --join-token where auth is required', async () => {
    const open = tempDir();
    await assert.rejects(start(['--no-builtins', '--data-dir', open, '--allow-join']), (err: HubExitedError) => {
      assert.equal(err.code, 1);
      assert.match(err.output, /hub: --allow-join needs --join-token <token> on a hub without a token store/);
      return true;
    });
    const required = tempDir();
    new TokenStore(required).create({ name: 'x', hub: 'plexus', grants: [parseGrant('_join.edge1')] });
    await assert.rejects(
      start(['--no-builtins', '--data-dir', required, '--allow-join', '--join-token', 'secret']),
      (err: HubExitedError) => {
        assert.match(err.output, /hub: --join-token is for a hub without a token store: .* the grant _join\.<name>/);
        return true;
      },
    );
  });

  it('200 joins: the first 64 names are mounted, the other 136 refused with -32003 and sent nothing', async () => {
    const dataDir = tempDir();
    const parent = await start(['--no-builtins', '--data-dir', dataDir, '--allow-join', '--join-token', 'j0in', '--audit']);
    const attempts = await Promise.all(Array.from({ length: 200 }, (_, i) => attemptJoin(parent.url, `j${i}`, { joinToken: 'j0in' })));
    const mounted = attempts.filter((a) => a.answer.result);
    const refused = attempts.filter((a) => a.answer.error);
    assert.equal(mounted.length, 64);
    assert.equal(refused.length, 136);
    for (const a of refused)
      await assertRefused(a, -32003, /^Join refused: this hub already has 64 joined children \(the limit is 64: --max-joins\)$/);
    // A re-join under a mounted name still passes (the child came back); a new name still does not.
    const named = mounted[0]!.answer.result!.mounted;
    mounted[0]!.client.close();
    const back = await attemptJoin(parent.url, named, { joinToken: 'j0in' });
    assert.deepEqual(back.answer.result, { mounted: named, parent: 'plexus' });
    await assertRefused(await attemptJoin(parent.url, 'late', { joinToken: 'j0in' }), -32003, /already has 64 joined children/);
    // A wrong join token is refused before any name is considered.
    await assertRefused(
      await attemptJoin(parent.url, named, { joinToken: 'nope' }),
      -32001,
      /^Join refused: a valid join token is required$/,
    );
    assert.equal((await hub('join', 'list', '--data-dir', dataDir)).stdout.trim().split('\n').length, 64);
    const records = await until(async () => {
      const r = joinRecords(dataDir);
      if (r.length < 203) throw new Error(`${r.length} join records`);
      return r;
    });
    assert.equal(records.filter((r) => r.outcome === 'denied' && /already has 64/.test(r.reason ?? '')).length, 137);
    for (const a of [...mounted, back]) a.client.close();
    await parent.stop();
  });

  it('the library refuses to accept joins when nothing decides who may join', () => {
    assert.throws(() => acceptJoins(new DynamicHub('parent')), /nothing decides who may join/);
    const dir = tempDir();
    const open = new HubAuth({ hub: 'parent', dataDir: dir });
    assert.throws(() => acceptJoins(new DynamicHub('parent', { policy: open })), /nothing decides who may join/);
    open.close();
    assert.throws(() => acceptJoins(new DynamicHub('parent'), { token: 't', maxJoins: 0 }), RangeError);
    // A bindings file that does not make sense refuses joins rather than letting them through.
    writeFileSync(join(dir, 'joins.json'), '{"version":2}');
    assert.throws(() => JoinBindings.in(dir).get('edge1'), /Join bindings .*joins\.json: expected \{"version": 1/);
  });
});

describe('a joined link lasts only while its credential may join', () => {
  it("revoking the joiner's token drops its link within about a second, audited; its re-join is refused", async () => {
    const dir = tempDir();
    const store = new TokenStore(dir);
    const edge = store.create({ name: 'edge', hub: 'parent', grants: [parseGrant('_join.edge1')] });
    const auth = new HubAuth({ hub: 'parent', dataDir: dir });
    const parent = new DynamicHub('parent', { policy: auth });
    const acceptor = acceptJoins(parent, { watchMs: 0, bindings: JoinBindings.in(dir) });
    const server = await serveWebSocket(parent, { port: 0, takeOver: acceptor.takeOver });
    const asked: string[] = [];
    const child = new DynamicHub('edge').register(
      defineActivation({
        namespace: 'vault',
        methods: {
          get: {
            params: { type: 'object', properties: { key: { type: 'string' } } },
            handler: ({ key }) => (asked.push(String(key)), 'v'),
          },
        },
      }),
    );
    const states: string[] = [];
    const joined = joinParent(child, server.url, {
      name: 'edge1',
      token: edge.token,
      backoffMs: 50,
      onState: (st, d) => states.push(`${st} ${d}`),
    });
    try {
      await joined.joined;
      await eventually(() => acceptor.mounts.get('edge1')?.connected === true, 5000);
      await parent.ready();
      await collect(parent.call('edge1.vault.get', { key: 'before' }));
      assert.deepEqual(asked, ['before']);

      store.revoke(edge.record.id);
      await eventually(() => acceptor.mounts.get('edge1')?.connected === false, 3000);
      const after = await collect(parent.call('edge1.vault.get', { key: 'db-password' }));
      assert.equal((after.find((i) => i.type === 'error') as { code?: string } | undefined)?.code, 'remote_unavailable');
      assert.deepEqual(asked, ['before'], 'nothing reached the revoked joiner');
      // It dials again and is refused at the upgrade (401): it never gets the name back.
      await eventually(() => states.some((st) => /^lost .*401/.test(st)), 5000);
      assert.equal(acceptor.mounts.get('edge1')?.connected, false);
      await until(async () => {
        const r = joinRecords(dir).find((x) => x.outcome === 'unauthenticated');
        if (!r) throw new Error('not yet');
        assert.equal(r.code, -32001);
        assert.match(r.reason!, /^Join withdrawn: Authentication required: the token was revoked$/);
      });
    } finally {
      await joined.close();
      acceptor.close();
      await server.close({ graceMs: 0 });
      auth.close();
    }
  });
});
