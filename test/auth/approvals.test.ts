// Issue #28 §2: execute is never standing. A token's call to a method that needs
// `execute` waits (a `progress` item "waiting for approval") until the owner approves
// it from `hub approvals` in another process, denies it (`execute_not_approved`), or
// its deadline passes; a window approval lets identical calls through, not others;
// cancelling or revoking withdraws it; every step is audited and the chain verifies.
//
// | what                                   | WebSocket | MCP HTTP | in process |
// |----------------------------------------|-----------|----------|------------|
// | waits → approved by CLI → runs         |     x     |    x     |            |
// | identical call waits again → denied    |     x     |          |            |
// | window: identical passes, other waits  |     x     |          |            |
// | cancel / revoke withdraws              |     x     |          |            |
// | claudecode create and chat wait too    |     x     |          |            |
// | deadline, caps, no owner channel       |           |          |     x      |
// | standing execute runs at once          |           |          |     x      |
// | owner code: once, then 401; tokens     |     x     |          |            |
// |   never reach _approvals.*             |           |          |            |
// (`hub serve` flags and owner file: approvals-serve.test.ts; mounts: approvals-mount.test.ts;
//  the explorer: test/explorer/explorer-approvals.test.ts)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Arbor } from '../../activations/arbor/index.js';
import { Bash } from '../../activations/bash.js';
import { ClaudeCode } from '../../activations/claudecode/index.js';
import { ApprovalBook, EXECUTE_NOT_APPROVED, writeOwnerFile } from '../../src/auth/index.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenPrincipal } from '../../src/auth/principal.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, defineActivation, type PlexusServer, type StreamItem } from '../../src/index.js';
import { mcpHttpHandler } from '../../src/mcp/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { writeFakeClaude } from '../fixtures/fake-claude.js';
import { collect, eventually } from '../support/helpers.js';
import { runHubCli } from '../support/hub-process.js';
import { RawClient } from '../support/raw-client.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-approvals-')));
const work = join(dir, 'work');
mkdirSync(work);

/** The id in a "waiting for approval apr_…" progress message. */
function approvalId(item: { message?: string }): string {
  const m = /waiting for approval (apr_[0-9a-f]+)/.exec(item.message ?? '');
  assert.ok(m, `not a waiting-for-approval progress item: ${JSON.stringify(item)}`);
  return m[1]!;
}

/** Flushes the hub's audit log (written by a worker thread) before it is read. */
let flushAudit = (): void => {};

/** The `approval` records of the audit log. */
function approvalRecords(): any[] {
  flushAudit();
  return readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.event === 'approval');
}

async function hubCli(...args: string[]): Promise<string> {
  const run = await runHubCli([...args, '--data-dir', dir]);
  assert.equal(run.code, 0, `hub ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

describe('execute calls wait for the owner (WebSocket, MCP HTTP, hub approvals in another process)', () => {
  const store = new TokenStore(dir);
  const make = (name: string, grants: string[]) => store.create({ name, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) }).token;
  const tokens = {
    shell: make('shell', ['bash.execute:execute']),
    doomed: make('doomed', ['bash.execute:execute']),
    claude: make('claude', ['claudecode.create:execute', 'claudecode.chat:execute']),
  };
  const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 }, revocationCheckMs: 50 });
  const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
  const claudecode = new ClaudeCode({ arbor, claudePath: writeFakeClaude(dir), env: { PATH: process.env.PATH ?? '' } });
  const hub = new DynamicHub('plexus', { policy: auth }).register(new Bash({ cwd: work }), arbor, claudecode);
  flushAudit = () => auth.audit!.flush();
  let server: PlexusServer;
  let forgetOwner: () => void;
  const clients: RawClient[] = [];

  before(async () => {
    await hub.ready(); // schemas extracted: a first call's progress item is then not behind a cold start
    const mcp = mcpHttpHandler(hub);
    server = await serveWebSocket(hub, { port: 0, http: (req, res) => mcp(req, res) });
    mcp.bind(server.host, server.port);
    forgetOwner = writeOwnerFile(dir, { hub: 'plexus', url: server.url, key: auth.owner!.key, pid: process.pid });
  });
  after(async () => {
    for (const c of clients) c.close();
    forgetOwner();
    await server.close({ graceMs: 0 });
    auth.close();
    claudecode.close();
    arbor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function as(token: string): Promise<RawClient> {
    const c = await RawClient.open(server.url, { headers: { authorization: `Bearer ${token}` } });
    clients.push(c);
    return c;
  }
  /** Calls `path` and resolves with the subscription and the pending approval's id, once its progress item came. */
  async function waiting(c: RawClient, path: string, params: unknown): Promise<{ sub: number; id: string }> {
    const sub = await c.call(path, params);
    return { sub, id: approvalId(await c.item(sub, 'progress')) };
  }

  it('waits with a progress item; `hub approvals` lists it with the command; approved from the CLI, it runs; the next identical call waits again; denied, it fails', async () => {
    const c = await as(tokens.shell);
    const { sub, id } = await waiting(c, 'bash.execute', { command: 'echo approved-ran' });
    assert.deepEqual(
      c.items(sub).map((i) => i.type),
      ['progress'],
      'nothing ran before the approval',
    );
    const listed = await hubCli('approvals');
    assert.match(
      listed,
      new RegExp(`${id}  shell \\(tok_[0-9a-f]+ from 127\\.0\\.0\\.1\\)  bash\\.execute  \\{"command":"echo approved-ran"\\}`),
    );
    assert.match(await hubCli('approvals', 'approve', id), new RegExp(`approved ${id}`));
    const items = await c.itemsToEnd(sub, 10_000);
    assert.ok(
      items.some((i) => i.type === 'data' && i.content.line === 'approved-ran'),
      JSON.stringify(items),
    );
    assert.equal(items.at(-1).type, 'done');

    // Scope is this call only: the same call again waits again.
    const again = await waiting(c, 'bash.execute', { command: 'echo approved-ran' });
    assert.notEqual(again.id, id);
    assert.match(await hubCli('approvals', 'deny', again.id, '--reason', 'not now'), /denied/);
    const denied = await c.itemsToEnd(again.sub, 10_000);
    const error = denied.find((i) => i.type === 'error');
    assert.equal(error.code, EXECUTE_NOT_APPROVED);
    assert.match(error.message, /denied it \(not now\)/);
    assert.deepEqual(error.details, { approval_id: again.id, reason: 'denied' });
    assert.ok(!denied.some((i) => i.type === 'data'), 'a denied call runs nothing');
    // Deciding twice: a clear error from the CLI.
    const twice = await runHubCli(['approvals', 'approve', again.id, '--data-dir', dir]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /No pending approval apr_[0-9a-f]+: it was decided, withdrawn or has expired/);
  });

  it('a window approval lets identical calls of the same token through for its length, not a different call', async () => {
    const c = await as(tokens.shell);
    const first = await waiting(c, 'bash.execute', { command: 'echo windowed' });
    await hubCli('approvals', 'approve', first.id, '--window', '10m');
    await c.itemsToEnd(first.sub, 10_000);
    // Identical (params in another key order too): runs at once, no progress item.
    const same = await c.call('bash.execute', { command: 'echo windowed' });
    const sameItems = await c.itemsToEnd(same, 10_000);
    assert.ok(!sameItems.some((i) => i.type === 'progress'), JSON.stringify(sameItems));
    assert.ok(sameItems.some((i) => i.type === 'data' && i.content.line === 'windowed'));
    // Different params: waits.
    const other = await waiting(c, 'bash.execute', { command: 'echo something else' });
    // A window longer than an hour is refused.
    const long = await runHubCli(['approvals', 'approve', other.id, '--window', '2h', '--data-dir', dir]);
    assert.equal(long.code, 1);
    assert.match(long.stderr, /at most 60 minutes/);
    auth.approvals!.decide(other.id, { approve: false });
    await c.itemsToEnd(other.sub, 10_000);
  });

  it('cancelling a waiting call withdraws it; revoking its token withdraws it and ends it with -32001', async () => {
    const c = await as(tokens.shell);
    const cancelled = await waiting(c, 'bash.execute', { command: 'echo never' });
    c.send({ jsonrpc: '2.0', id: 999, method: 'plexus.call_unsub', params: [cancelled.sub] });
    await eventually(() => !auth.approvals!.list().some((a) => a.id === cancelled.id), 5000);

    const d = await as(tokens.doomed);
    const revoked = await waiting(d, 'bash.execute', { command: 'echo never either' });
    store.revoke('doomed');
    const items = await d.itemsToEnd(revoked.sub, 10_000);
    const error = items.find((i) => i.type === 'error');
    assert.equal(error.code, '-32001');
    assert.match(error.message, /the token was revoked/);
    assert.deepEqual(auth.approvals!.list(), [], 'no pending call is left');
    assert.ok(!items.some((i) => i.type === 'data'));
    const outcomes = approvalRecords().filter((r) => r.approval_id === cancelled.id || r.approval_id === revoked.id);
    assert.deepEqual(
      outcomes.map((r) => `${r.principal} ${r.outcome}`),
      ['shell requested', 'shell withdrawn', 'doomed requested', 'doomed withdrawn'],
    );
  });

  it('claudecode create and chat (the fake claude) wait for approval too', async () => {
    const c = await as(tokens.claude);
    const create = await waiting(c, 'claudecode.create', { name: 's', working_dir: work, model: 'haiku' });
    await hubCli('approvals', 'approve', create.id);
    const created = await c.itemsToEnd(create.sub, 15_000);
    assert.ok(
      created.some((i) => i.type === 'data'),
      JSON.stringify(created),
    );
    const chat = await waiting(c, 'claudecode.chat', { name: 's', prompt: 'hi' });
    auth.approvals!.decide(chat.id, { approve: true, by: 'test' });
    const chatted = await c.itemsToEnd(chat.sub, 15_000);
    assert.ok(
      chatted.some((i) => i.type === 'data'),
      JSON.stringify(chatted),
    );
    assert.ok(!chatted.some((i) => i.type === 'error'), JSON.stringify(chatted));
  });

  it('MCP HTTP: tools/call waits with a progress notification, then runs once approved from the CLI', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.port}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${tokens.shell}` } },
    });
    const client = new Client({ name: 'approvals-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const progress: string[] = [];
      let approved = false;
      const result = client.callTool({ name: 'bash.execute', arguments: { command: 'echo via-mcp' } }, undefined, {
        timeout: 60_000,
        onprogress: (p) => {
          progress.push(p.message ?? '');
          const m = /waiting for approval (apr_[0-9a-f]+)/.exec(p.message ?? '');
          if (m && !approved) {
            approved = true;
            void hubCli('approvals', 'approve', m[1]!);
          }
        },
      });
      const answer = (await result) as { isError?: boolean; content: { type: string; text: string }[] };
      assert.ok(!answer.isError, JSON.stringify(answer));
      assert.match(JSON.stringify(answer.content), /via-mcp/);
      assert.match(progress[0]!, /^waiting for approval apr_/);
    } finally {
      await client.close();
    }
  });

  it('the owner code works once (then 401), and a token never reaches _approvals.*', async () => {
    const { code } = auth.owner!.issueCode();
    const owner = await RawClient.open(`${server.url}/?token=${code}`);
    clients.push(owner);
    const sub = await owner.call('_approvals.list', {});
    const [data] = (await owner.itemsToEnd(sub)).filter((i) => i.type === 'data');
    assert.ok(Array.isArray(data.content), JSON.stringify(data));
    await assert.rejects(RawClient.open(`${server.url}/?token=${code}`), /401/);
    // A token holder: the owner's methods do not exist for it.
    const c = await as(tokens.shell);
    const refused = await c.itemsToEnd(await c.call('_approvals.list', {}));
    assert.equal(refused[0].type, 'error');
    assert.doesNotMatch(JSON.stringify(refused), /"data"/);
  });

  it('every step is in the audit log, and `hub audit verify` passes', async () => {
    const outcomes = new Set(approvalRecords().map((r) => r.outcome));
    for (const o of ['requested', 'approved', 'denied', 'withdrawn']) assert.ok(outcomes.has(o), `no ${o} record`);
    const requested = approvalRecords().find((r) => r.outcome === 'requested');
    assert.deepEqual(requested.params, { command: 'echo approved-ran' });
    assert.ok(approvalRecords().some((r) => r.outcome === 'approved' && r.window_ms === 600_000 && r.decided_by === 'cli'));
    assert.ok(approvalRecords().some((r) => r.outcome === 'approved' && r.reason === 'within an approval window'));
    auth.audit!.flush();
    assert.match(await hubCli('audit', 'verify'), /^ok: \d+ records, chain intact/);
  });
});

describe('approvals in process: deadline, caps, no owner channel, standing execute', () => {
  const local = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-approvals-unit-')));
  const store = new TokenStore(local);
  const { record } = store.create({
    name: 'runner',
    hub: 'plexus',
    grants: [parseGrant('shell.run:execute'), parseGrant('shell.look:read')],
  });
  let runs = 0;
  const shell = () =>
    defineActivation({
      namespace: 'shell',
      methods: {
        run: { verbs: ['execute'], params: { type: 'object', properties: { n: { type: 'number' } } }, handler: () => ++runs },
        look: { handler: () => 'looked' },
      },
    });
  const principal = () => new TokenPrincipal(store, record, 'test', 'test');
  after(() => rmSync(local, { recursive: true, force: true }));

  const errorOf = (items: StreamItem[]) =>
    items.find((i) => i.type === 'error') as { code: string; details?: any; message: string } | undefined;

  it('a call nobody decides fails with execute_not_approved at its deadline; a read method never waits', async () => {
    const auth = new HubAuth({ hub: 'plexus', dataDir: local, approvals: { deadlineMs: 300 } });
    const hub = new DynamicHub('plexus', { policy: auth }).register(shell());
    try {
      const started = Date.now();
      const items = await collect(hub.call('shell.run', { n: 1 }, { principal: principal() }));
      assert.ok(Date.now() - started >= 290);
      assert.equal(items[0]!.type, 'progress');
      const error = errorOf(items)!;
      assert.equal(error.code, EXECUTE_NOT_APPROVED);
      assert.equal(error.details.reason, 'expired');
      assert.match(error.message, /no decision within 0 s|no decision within/);
      assert.equal(runs, 0);
      const look = await collect(hub.call('shell.look', {}, { principal: principal() }));
      assert.deepEqual(
        look.map((i) => i.type),
        ['data', 'done'],
      );
    } finally {
      auth.close();
    }
  });

  it('past the per-token cap a call is refused at once, and the hub-wide cap holds too', async () => {
    const book = new ApprovalBook({ maxPendingPerPrincipal: 2, maxPending: 3 });
    const controller = new AbortController();
    const call = { signal: controller.signal, progress: () => {} };
    const held = [book.hold(principal(), 'shell.run', { n: 1 }, call), book.hold(principal(), 'shell.run', { n: 2 }, call)];
    for (const h of held) h.catch(() => {});
    await assert.rejects(book.hold(principal(), 'shell.run', { n: 3 }, call), (err: any) => {
      assert.equal(err.code, EXECUTE_NOT_APPROVED);
      assert.equal(err.details.reason, 'too_many_pending');
      assert.match(err.message, /too many calls are waiting for approval \(this token already has 2\)/);
      return true;
    });
    const other = store.create({ name: 'other', hub: 'plexus', grants: [parseGrant('shell.run:execute')] }).record;
    const otherPrincipal = new TokenPrincipal(store, other, 'test', 'test');
    book.hold(otherPrincipal, 'shell.run', {}, call).catch(() => {});
    await assert.rejects(book.hold(otherPrincipal, 'shell.run', { n: 1 }, call), /the hub already holds 3/);
    assert.equal(book.size, 3);
    controller.abort();
    await eventually(() => book.size === 0);
  });

  it('without an owner channel (stdio) an execute call is refused at once, saying how to get one', async () => {
    const auth = new HubAuth({ hub: 'plexus', dataDir: local, approvals: { ownerChannel: false } });
    const hub = new DynamicHub('plexus', { policy: auth }).register(shell());
    try {
      const error = errorOf(await collect(hub.call('shell.run', {}, { principal: principal() })))!;
      assert.equal(error.code, EXECUTE_NOT_APPROVED);
      assert.match(error.message, /no way to ask.*--allow-standing-execute/);
    } finally {
      auth.close();
    }
  });

  it('owner codes: an expired or guessed one is refused, guesses are throttled like tokens, a live one gets in once', () => {
    const auth = new HubAuth({ hub: 'plexus', dataDir: local, limiter: { burst: 2, refillMs: 60_000 } });
    try {
      const expired = auth.owner!.issueCode(1000, Date.now() - 2000).code;
      const live = auth.owner!.issueCode().code;
      const tryCode = (code: string) => auth.authenticate(code, '10.0.0.9', 'ws');
      assert.deepEqual(tryCode(expired), { ok: false, status: 401, message: 'Authentication failed: the token is not known to this hub' });
      assert.equal((tryCode('own-AAAA-BBBB-CCCC-DDDD') as { status: number }).status, 401);
      assert.equal((tryCode('own-AAAA-BBBB-CCCC-EEEE') as { status: number }).status, 429, 'the address is throttled');
      // A valid code still gets in (as a valid token does), typed in lower case too, and only once.
      const owner = tryCode(live.toLowerCase());
      assert.ok(owner.ok && owner.principal.name === 'owner' && owner.principal.kind === 'trusted');
      assert.equal((tryCode(live) as { status: number }).status, 429);
      assert.ok(auth.authenticate(auth.owner!.key, '10.0.0.9', 'ws').ok, 'the owner key always works');
    } finally {
      auth.close();
    }
  });

  it('with standing execute (--allow-standing-execute) the grant runs at once, and there is no owner', async () => {
    const auth = new HubAuth({ hub: 'plexus', dataDir: local, approvals: { standing: true } });
    const hub = new DynamicHub('plexus', { policy: auth }).register(shell());
    try {
      const before = runs;
      const items = await collect(hub.call('shell.run', {}, { principal: principal() }));
      assert.deepEqual(
        items.map((i) => i.type),
        ['data', 'done'],
      );
      assert.equal(runs, before + 1);
      assert.equal(auth.approvals, undefined);
      assert.equal(auth.owner, undefined);
    } finally {
      auth.close();
    }
  });
});
