// Issue 28 §1: enrollment codes and the agent's MCP proxy, through real processes.
// From a fresh data dir: `hub agent enroll` prints a one-time code; an MCP SDK client
// spawns `hub mcp --url … --agent … --enroll CODE` over stdio (the proxy redeems it at
// POST /enroll, stores the credential and proxies to the running hub), and another
// redeems over HTTP and calls /mcp with the Bearer token, or with `_enroll` on the
// WebSocket. Granted tools are callable, others unknown; a spent, expired or guessed
// code gets one refusal, throttled and audited (never the code); racing redemptions
// give one token; `hub agent revoke` cuts the agent off.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { ENROLLMENT_REFUSED } from '../../src/auth/hub-auth.js';
import { startHub, runHubCli, type HubProcess } from '../support/hub-process.js';
import { agentProxyTransport } from '../support/agent-proxy.js';
import { RawClient } from '../support/raw-client.js';

const ROOT_TOOLS = ['plexus.call', 'plexus.hash', 'plexus.schema'];
const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

const dir = mkdtempSync(join(tmpdir(), 'plexus-enroll-hub-'));
/** The agent's side: where the proxy keeps its credentials (another machine, in real life). */
const agentDir = mkdtempSync(join(tmpdir(), 'plexus-enroll-agent-'));
/** Every code printed, to check none reaches the audit log. */
const codes: string[] = [];

async function enroll(name: string, ...flags: string[]): Promise<string> {
  const r = await runHubCli(['agent', 'enroll', name, '--data-dir', dir, ...flags]);
  assert.equal(r.code, 0, r.stderr);
  const code = r.stdout.trim();
  assert.match(code, CODE);
  codes.push(code);
  return code;
}

async function postEnroll(url: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url.replace(/^ws/, 'http')}/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

function proxyTransport(hub: HubProcess, agent: string, extra: string[] = []): StdioClientTransport {
  return agentProxyTransport(hub.url, agent, agentDir, extra);
}

/** Everything the proxy process wrote to stderr, collected as it comes. */
function stderrOf(transport: StdioClientTransport): () => string {
  let text = '';
  transport.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

function toolNames(tools: readonly { name: string }[]): string[] {
  return tools.map((t) => t.name).sort();
}

describe('agents: enrollment codes and the MCP proxy', () => {
  let hub: HubProcess;

  before(async () => {
    // A fresh data dir: the first enrollment creates the token store, so the hub requires auth.
    await enroll('stdio-bot', '--grant', 'echo.*:read');
    assert.ok(TokenStore.existsIn(dir));
    hub = await startHub({ args: ['--data-dir', dir, '--with', 'changelog'] });
    assert.match(hub.output(), /auth required/);
  });
  after(async () => {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  });

  it('the codes are typeable (Crockford base32 groups), listed without the code, stored hashed and owner-only', async () => {
    const list = await runHubCli(['agent', 'list', '--data-dir', dir]);
    assert.match(list.stdout, /code {2}stdio-bot {2}enr_[0-9a-f]{12} {2}hub=plexus {2}pending/);
    const file = readFileSync(join(dir, 'enrollments.json'), 'utf8');
    for (const c of codes) {
      assert.ok(!list.stdout.includes(c));
      assert.ok(!file.includes(c) && !file.includes(c.replace(/-/g, '')));
    }
    assert.equal(statSync(join(dir, 'enrollments.json')).mode & 0o777, 0o600);
  });

  it('discovery and _info advertise enrollment', async () => {
    const doc = (await (await fetch(`${hub.url.replace(/^ws/, 'http')}/.well-known/plexus-hub`)).json()) as any;
    assert.deepEqual(doc.enroll, { http: `${hub.url.replace(/^ws/, 'http')}/enroll`, ws_method: '_enroll' });
    const anon = await RawClient.open(hub.url);
    try {
      const sub = (await anon.request('_info')).result;
      const info = await anon.item(sub, 'data');
      assert.deepEqual(info.content.auth_capabilities.mechanisms[1], { kind: 'enrollment', ws_method: '_enroll', http_path: '/enroll' });
    } finally {
      anon.close();
    }
  });

  it('stdio: an MCP SDK client spawns `hub mcp --url --agent --enroll`, which redeems, stores the credential and proxies the granted tools', async () => {
    const [code] = codes;
    const transport = proxyTransport(hub, 'stdio-bot', ['--enroll', code!]);
    const stderr = stderrOf(transport);
    const client = new Client({ name: 'agent-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      // The root's own tools are public; of the activations only what is granted.
      assert.deepEqual(toolNames(tools), ['echo.echo', 'echo.once', ...ROOT_TOOLS]);
      const result = await client.callTool({ name: 'echo.once', arguments: { message: 'hi' } });
      assert.equal(result.isError, undefined);
      assert.match(JSON.stringify(result.content), /hi/);
      await assert.rejects(client.callTool({ name: 'health.check', arguments: {} }), /Unknown tool: health\.check/);
      // A stream's items arrive as progress notifications, through the proxy as from the hub.
      // The SDK client drops those it reads in one chunk with the result (typescript-sdk#2580);
      // on a loaded machine all 20 came in one chunk once: so at least one, in one of three calls.
      const progress: unknown[] = [];
      for (let attempt = 0; attempt < 3 && progress.length === 0; attempt++) {
        const streamed = await client.callTool({ name: 'echo.echo', arguments: { message: 'p', count: 20 } }, undefined, {
          onprogress: (p) => void progress.push(p),
        });
        assert.equal(streamed.isError, undefined);
      }
      assert.ok(progress.length >= 1, 'no progress notification came through the proxy');
      assert.match(stderr(), /agent stdio-bot enrolled with hub plexus/);
    } finally {
      await client.close();
    }
    const file = join(agentDir, 'agents', 'stdio-bot.json');
    const credential = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(Object.keys(credential).sort(), ['hub', 'token', 'url']);
    assert.equal(credential.url, hub.url);
    assert.equal(credential.hub, 'plexus');
    assert.match(credential.token, /^phub_/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const listed = await runHubCli(['agent', 'list', '--data-dir', dir, '--json']);
    const { agents, enrollments } = JSON.parse(listed.stdout);
    assert.deepEqual(
      agents.map((a: any) => [a.agent, a.name, a.status]),
      [['stdio-bot', 'stdio-bot', 'active']],
    );
    assert.deepEqual(enrollments, []);
    assert.ok(!listed.stdout.includes(credential.token));
  });

  it('stdio: a later start reuses the stored credential; --enroll kept in the config is a no-op with a note', async () => {
    for (const extra of [[], ['--enroll', codes[0]!]]) {
      const transport = proxyTransport(hub, 'stdio-bot', extra);
      const stderr = stderrOf(transport);
      // The host's clientInfo reaches the hub: Claude Desktop ("claude-ai") gets underscore names through the proxy too.
      const desktop = extra.length === 0;
      const client = new Client({ name: desktop ? 'claude-ai' : 'agent-test', version: '1.0.0' });
      await client.connect(transport);
      try {
        const name = desktop ? 'echo_once' : 'echo.once';
        assert.ok(toolNames((await client.listTools()).tools).includes(name));
        const result = await client.callTool({ name, arguments: { message: 'again' } });
        assert.match(JSON.stringify(result.content), /again/);
        if (extra.length > 0) assert.match(stderr(), /already enrolled .*--enroll is ignored/);
      } finally {
        await client.close();
      }
    }
  });

  it('a second redemption of a spent code is refused with the one error', async () => {
    const r = await postEnroll(hub.url, { code: codes[0] });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { error: { code: -32001, message: ENROLLMENT_REFUSED } });
  });

  it('HTTP: POST /enroll gives a token, and an MCP SDK client calls /mcp with it as Bearer', async () => {
    const code = await enroll('http-bot', '--grant', 'echo.once:read');
    // Case and separators do not matter; O reads as 0, I and L as 1.
    const typed = code.toLowerCase().replace(/-/g, ' ');
    const r = await postEnroll(hub.url, { code: typed });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['agent', 'hub', 'token']);
    assert.equal(r.body.agent, 'http-bot');
    const client = new Client({ name: 'http-agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${hub.url.replace(/^ws/, 'http')}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${r.body.token}` } },
      }),
    );
    try {
      assert.deepEqual(toolNames((await client.listTools()).tools), ['echo.once', ...ROOT_TOOLS]);
      const result = await client.callTool({ name: 'echo.once', arguments: { message: 'over http' } });
      assert.match(JSON.stringify(result.content), /over http/);
      await assert.rejects(client.callTool({ name: 'echo.echo', arguments: { message: 'x' } }), /Unknown tool: echo\.echo/);
    } finally {
      await client.close();
    }
  });

  it('an expired code is refused with the same error', async () => {
    const code = await enroll('late-bot', '--grant', 'echo.*:read', '--expires', '1s');
    // Wait for the expiry the store recorded, not a guess at how long the CLI took.
    const { codes: records } = JSON.parse(readFileSync(join(dir, 'enrollments.json'), 'utf8'));
    const expiresAt: number = records.find((c: any) => c.agent === 'late-bot').expiresAt;
    while (Date.now() <= expiresAt) await new Promise((r) => setTimeout(r, 50));
    const r = await postEnroll(hub.url, { code });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.message, ENROLLMENT_REFUSED);
  });

  it('concurrent redemptions (HTTP and WebSocket) give exactly one token', async () => {
    const code = await enroll('race-bot', '--grant', 'echo.*:read');
    const ws = await Promise.all([RawClient.open(hub.url), RawClient.open(hub.url)]);
    try {
      const answers = await Promise.all([
        ...Array.from({ length: 4 }, () => postEnroll(hub.url, { code }).then((r) => r.status === 200)),
        ...ws.map((c) => c.request('_enroll', { code }).then((f) => 'result' in f)),
      ]);
      assert.equal(answers.filter(Boolean).length, 1, JSON.stringify(answers));
    } finally {
      for (const c of ws) c.close();
    }
    const tokens = new TokenStore(dir).records().filter((t) => t.agent === 'race-bot');
    assert.equal(tokens.length, 1);
  });

  it('WebSocket: `_enroll` before authentication; `hub agent revoke` ends the running stream and refuses new calls', async () => {
    const code = await enroll('ws-bot', '--grant', 'echo.*:read', '--grant', 'changelog.watch:read');
    const anon = await RawClient.open(hub.url);
    let token: string;
    try {
      const f = await anon.request('_enroll', { code });
      assert.deepEqual(Object.keys(f.result).sort(), ['agent', 'hub', 'token']);
      assert.deepEqual([f.result.agent, f.result.hub], ['ws-bot', 'plexus']);
      token = f.result.token;
      // The unauthenticated connection stays one: enrolling hands out a token, it does not log this socket in.
      const refused = await anon.itemsToEnd(await anon.call('echo.once', { message: 'x' }));
      assert.equal(refused[0].code, '-32001');
    } finally {
      anon.close();
    }
    const agent = await RawClient.open(hub.url, { headers: { authorization: `Bearer ${token}` } });
    try {
      const ok = await agent.itemsToEnd(await agent.call('echo.once', { message: 'as ws-bot' }));
      assert.equal(ok[0].content.message, 'as ws-bot');
      const watch = await agent.call('changelog.watch', {});
      const revoked = await runHubCli(['agent', 'revoke', 'ws-bot', '--data-dir', dir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, /revoked tok_[0-9a-f]+ \(agent ws-bot\)/);
      const items = await agent.itemsToEnd(watch, 5000);
      const err = items.find((i) => i.type === 'error');
      assert.equal(err?.code, '-32001');
      assert.match(err.message, /revoked/);
      const again = await agent.itemsToEnd(await agent.call('echo.once', { message: 'x' }));
      assert.equal(again[0].code, '-32001');
    } finally {
      agent.close();
    }
  });

  it('revoking the stdio agent refuses its proxied calls; a pending code is revoked too', async () => {
    const transport = proxyTransport(hub, 'stdio-bot');
    const client = new Client({ name: 'agent-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      await client.callTool({ name: 'echo.once', arguments: { message: 'before' } });
      assert.equal((await runHubCli(['agent', 'revoke', 'stdio-bot', '--data-dir', dir])).code, 0);
      // The hub re-reads its token store within 200 ms: wait for the refusal, not a fixed time.
      const until = Date.now() + 5000;
      let refused: unknown;
      while (!refused && Date.now() < until) {
        refused = await client.callTool({ name: 'echo.once', arguments: { message: 'after' } }).then(
          (r) => (r.isError ? r : undefined),
          (err: Error) => err,
        );
        if (!refused) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(refused, 'the revoked agent could still call');
      // The hub's own reason reaches the host through the proxy.
      assert.match(refused instanceof Error ? refused.message : JSON.stringify(refused), /the token was revoked/);
    } finally {
      await client.close();
    }
    const pending = await enroll('pending-bot');
    assert.equal((await runHubCli(['agent', 'revoke', 'pending-bot', '--data-dir', dir])).code, 0);
    assert.equal((await postEnroll(hub.url, { code: pending })).status, 401);
    // A name that is neither an agent nor a pending code is an error.
    const none = await runHubCli(['agent', 'revoke', 'nobody', '--data-dir', dir]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no enrolled agent or pending code named "nobody"/);
  });

  it('bad requests get specific errors', async () => {
    assert.equal((await postEnroll(hub.url, 'not json')).status, 400);
    assert.equal((await postEnroll(hub.url, { nope: 1 })).status, 400);
    const get = await fetch(`${hub.url.replace(/^ws/, 'http')}/enroll`);
    assert.equal(get.status, 405);
    const enrolled = await runHubCli(['agent', 'enroll', 'http-bot', '--data-dir', dir]);
    assert.equal(enrolled.code, 1);
    assert.match(enrolled.stderr, /already enrolled/);
    const half = await runHubCli(['mcp', '--url', hub.url, '--data-dir', agentDir]);
    assert.equal(half.code, 1);
    assert.match(half.stderr, /--url and --agent go together/);
    const noCredential = await runHubCli(['mcp', '--url', hub.url, '--agent', 'ghost', '--data-dir', agentDir]);
    assert.equal(noCredential.code, 1);
    assert.match(noCredential.stderr, /no credential for agent ghost .*--enroll <code>/);
    // A refused code stops the proxy with the hub's answer, and nothing is stored.
    const badCode = await runHubCli(['mcp', '--url', hub.url, '--agent', 'ghost', '--data-dir', agentDir, '--enroll', 'AAAA-AAAA-AAAA']);
    assert.equal(badCode.code, 1);
    assert.match(badCode.stderr, /enrollment refused by http:\/\/127\.0\.0\.1:\d+ \(HTTP 401\): Enrollment refused: the code is not valid/);
    assert.ok(!existsSync(join(agentDir, 'agents', 'ghost.json')));
  });

  it('brute force: guesses are refused alike, then throttled (429) by the failed-auth limiter; all audited, never the code', async () => {
    // A restarted hub has a fresh limiter: the refusals of the tests above do not count.
    await hub.stop('SIGTERM');
    hub = await startHub({ args: ['--data-dir', dir] });
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const guess = `ABCD-EFGH-${String(1000 + i)}`;
      codes.push(guess);
      const r = await postEnroll(hub.url, { code: guess });
      statuses.push(r.status);
      if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1);
      else assert.equal(r.body.error.message, ENROLLMENT_REFUSED);
    }
    // The limiter's burst is 10 failures per address; the 11th is throttled (a second or two of refill at most).
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401), statuses.join(','));
    assert.deepEqual(statuses.slice(12), [429, 429], statuses.join(','));
    // A throttled WebSocket `_enroll` is refused too.
    const ws = await RawClient.open(hub.url);
    try {
      const f = await ws.request('_enroll', { code: 'ZZZZ-ZZZZ-ZZZZ' });
      assert.equal(f.error.code, -32001);
      assert.match(f.error.message, /Too many failed authentications/);
    } finally {
      ws.close();
    }
    // A wrong token from the same address is throttled too (one limiter), and summarised apart from the enrollments.
    const wrongToken = await fetch(`${hub.url.replace(/^ws/, 'http')}/mcp`, {
      method: 'POST',
      headers: { authorization: 'Bearer phub_wrong', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    assert.equal(wrongToken.status, 429);
    // Stopping the hub flushes its log; then the chain verifies and says what happened.
    await hub.stop('SIGTERM');
    const verify = await runHubCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const log = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    const enrolls = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.event === 'enroll');
    const outcomes = new Set(enrolls.map((r) => r.outcome));
    for (const o of ['redeemed', 'refused', 'throttled']) assert.ok(outcomes.has(o), `no ${o} record: ${[...outcomes]}`);
    assert.ok(
      log.split('\n').some((l) => l.includes('"event":"auth"') && l.includes('"outcome":"throttled"')),
      "the throttled token was counted in the enrollments' window",
    );
    const seen = JSON.stringify(enrolls.map((r) => [r.outcome, r.principal, r.reason, r.transport]));
    assert.ok(
      enrolls.some((r) => r.outcome === 'redeemed' && r.principal === 'stdio-bot' && /^tok_/.test(r.token_id)),
      seen,
    );
    assert.ok(
      enrolls.some((r) => r.outcome === 'refused' && r.reason === 'spent' && r.principal === 'stdio-bot'),
      seen,
    );
    assert.ok(
      enrolls.some((r) => r.outcome === 'refused' && r.reason === 'expired'),
      seen,
    );
    for (const c of codes) {
      assert.ok(!log.includes(c), `the audit log holds a code`);
      assert.ok(!log.toUpperCase().includes(c.replace(/-/g, '')), 'the audit log holds a code');
    }
    assert.ok(existsSync(join(dir, 'tokens.json')));
  });
});
