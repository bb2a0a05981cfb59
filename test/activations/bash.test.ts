import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DynamicHub, serveMcpHttp, serveWebSocket, type StreamItem } from '../../src/index.js';
import { Bash, type BashEvent, type BashOptions } from '../../activations/bash.js';
import { baseEnvironment } from '../../activations/process/index.js';
import { collect, contents, eventually } from '../support/helpers.js';
import { assertGone, assertNoLeftovers, isRunning, SKIP_NO_PROC } from '../support/processes.js';
import { RawClient } from '../support/raw-client.js';

const MARK = randomUUID();
const GRACE_MS = 300;
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-bash-')));
mkdirSync(join(dir, 'sub'));
process.env.PLEXUS_TEST_SECRET = 's3cret';

function bash(options: BashOptions = {}): Bash {
  return new Bash({ cwd: dir, killGraceMs: GRACE_MS, env: { ...baseEnvironment('minimal'), PLEXUS_TEST_MARK: MARK }, ...options });
}

const hub = new DynamicHub().register(bash({ maxOutputBytes: 1000, maxTimeoutMs: 20_000 }));

async function run(params: Record<string, unknown>, on: DynamicHub = hub): Promise<{ items: StreamItem[]; events: BashEvent[] }> {
  const items = await collect(on.call('bash.execute', params));
  return { items, events: contents(items) as BashEvent[] };
}

const lines = (events: BashEvent[]) =>
  events.filter((e) => e.type === 'stdout' || e.type === 'stderr').map((e) => `${e.type}:${(e as { line: string }).line}`);

/**
 * Prints the host pid of the process that runs it. `$$` and `$!` will not do: by
 * default a command runs in a PID namespace of its own, where they are namespace pids.
 */
const ME = 'read p _ < /proc/self/stat; echo $p';
/** Prints the shell's pid, starts a grandchild, which prints its pid; waits. */
const TREE = `${ME}; (${ME}; exec sleep 300) & wait`;
/** The same, but the grandchild ignores SIGTERM, so only SIGKILL ends it. */
const STUBBORN_TREE = `${ME}; (trap "" TERM; ${ME}; exec sleep 300) & wait`;

/** The raw client, with the two steps of every bash test. */
class Raw extends RawClient {
  /** Subscribes to bash.execute and returns the subscription id. */
  async execute(id: number, command: string): Promise<number> {
    this.send({ jsonrpc: '2.0', id, method: 'plexus.call', params: { method: 'bash.execute', params: { command } } });
    return (await this.waitFor((f) => f.id === id)).result;
  }
  /** The first `n` stdout lines of a subscription, as numbers (the pids TREE prints). */
  async pids(sub: number, n = 2): Promise<number[]> {
    const out = () => this.frames.filter((f) => f.params?.subscription === sub && f.params.result.content?.type === 'stdout');
    await eventually(() => out().length >= n, 5000);
    return out()
      .slice(0, n)
      .map((f) => Number(f.params.result.content.line));
  }
}

describe('bash.execute: output', () => {
  it('streams stdout and stderr interleaved in the order they were written, then the exit', async () => {
    // stdout and stderr are two pipes: whatever both hold when the hub reads may come in
    // either order, so a fixed pause between writes is not enough under load. The command
    // writes each next line only once this test has received the one before (it touches
    // ack-<n>), so the order seen is the order written, and any reordering is a defect.
    const acks = mkdtempSync(join(dir, 'acks-'));
    const next = (n: number) => `until [ -e ${acks}/ack-${n} ]; do sleep 0.01; done`;
    const command = `echo o1; ${next(1)}; echo e1 >&2; ${next(2)}; echo o2; ${next(3)}; echo e2 >&2; ${next(4)}; echo o3`;
    const items: StreamItem[] = [];
    let received = 0;
    // A hub that held lines back until the exit would stall the command: the timeout ends that.
    for await (const item of hub.call('bash.execute', { command, timeout_ms: 15_000 })) {
      items.push(item);
      const type = item.type === 'data' && (item.content as BashEvent).type;
      if (type === 'stdout' || type === 'stderr') writeFileSync(join(acks, `ack-${++received}`), '');
    }
    const events = contents(items) as BashEvent[];
    assert.deepEqual(lines(events), ['stdout:o1', 'stderr:e1', 'stdout:o2', 'stderr:e2', 'stdout:o3']);
    assert.equal(events.at(-1)!.type, 'exit');
    assert.equal(items.at(-1)!.type, 'done');
    assert.equal(items[0]!.type === 'data' && items[0].content_type, 'bash.execute');
  });

  it('yields each line while the command is still running (no buffering until exit)', async () => {
    for await (const item of hub.call('bash.execute', { command: `${ME}; sleep 300` })) {
      const pid = Number((item as { content: { line: string } }).content.line);
      assert.ok(isRunning(pid), 'the first line arrived while its process still runs');
      break; // and leaving the loop kills it (checked below for every kind of cancellation)
    }
  });

  it('reports a final line without newline as partial, strips CRLF, survives invalid UTF-8', async () => {
    const { events } = await run({ command: "printf 'a\\r\\nb\\n\\377\\376ok\\nlast'" });
    assert.deepEqual(events.slice(0, 4), [
      { type: 'stdout', line: 'a' },
      { type: 'stdout', line: 'b' },
      { type: 'stdout', line: '\uFFFD\uFFFDok' },
      { type: 'stdout', line: 'last', partial: true },
    ]);
  });

  it('exit codes: 0, a chosen status, and -1 with the signal when one ended it', async () => {
    const ok = (await run({ command: 'true' })).events.at(-1) as Extract<BashEvent, { type: 'exit' }>;
    assert.equal(ok.code, 0);
    assert.equal(ok.signal, null);
    assert.ok(Number.isInteger(ok.duration_ms) && ok.duration_ms >= 0);
    assert.equal(ok.timed_out, undefined);
    const failedExit = await run({ command: 'echo x; exit 42' });
    assert.deepEqual(pick(failedExit.events.at(-1)), { type: 'exit', code: 42, signal: null });
    const killed = await run({ command: 'kill -KILL $$' });
    assert.deepEqual(pick(killed.events.at(-1)), { type: 'exit', code: -1, signal: 'SIGKILL' });
    // A non-zero exit is data: the call succeeds. A kill is the call failing: an error item after the exit event.
    assert.deepEqual(
      failedExit.items.slice(-2).map((i) => i.type),
      ['data', 'done'],
    );
    assert.deepEqual(
      killed.items.slice(-2).map((i) => i.type),
      ['error', 'done'],
    );
    assert.equal((killed.items.at(-2) as { message: string }).message, 'command was killed by SIGKILL');
  });

  it('a spawn failure is an error item and no exit', async () => {
    const broken = new DynamicHub().register(bash({ shell: join(dir, 'no-such-shell') }));
    const { items, events } = await run({ command: 'true' }, broken);
    assert.deepEqual(
      events.map((e) => e.type),
      ['error'],
    );
    assert.match((events[0] as { message: string }).message, /^failed to spawn .*no-such-shell \(command='true'\): .*ENOENT/);
    assert.deepEqual(
      items.slice(-2).map((i) => i.type),
      ['error', 'done'],
    );
    assert.equal((items.at(-2) as { message: string }).message, (events[0] as { message: string }).message);
  });
});

function pick(e: BashEvent | undefined): unknown {
  const { type, code, signal } = e as Extract<BashEvent, { type: 'exit' }>;
  return { type, code, signal };
}

describe('bash.execute: working directory and environment', () => {
  it('runs in the configured directory; cwd resolves against it; a missing one is -32602', async () => {
    assert.deepEqual(lines((await run({ command: 'pwd' })).events), [`stdout:${dir}`]);
    assert.deepEqual(lines((await run({ command: 'pwd', cwd: 'sub' })).events), [`stdout:${join(dir, 'sub')}`]);
    const { items } = await run({ command: 'pwd', cwd: 'nope' });
    assert.deepEqual(
      items.map((i) => i.type),
      ['error', 'done'],
    );
    assert.equal((items[0] as { code?: string }).code, '-32602');
    assert.match((items[0] as { message: string }).message, /^Invalid params: cwd '.*nope' is not an existing directory/);
  });

  it('minimal environment by default: the hub’s secrets stay out, PATH and the call’s env get in', async () => {
    const { events } = await run({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template.
      command: 'echo "${PLEXUS_TEST_SECRET:-unset}"; echo "$FOO"; command -v sh >/dev/null && echo path-ok',
      env: { FOO: 'bar' },
    });
    assert.deepEqual(lines(events), ['stdout:unset', 'stdout:bar', 'stdout:path-ok']);
    const inherit = new DynamicHub().register(bash({ env: { ...process.env, PLEXUS_TEST_MARK: MARK } as Record<string, string> }));
    assert.deepEqual(lines((await run({ command: 'echo "$PLEXUS_TEST_SECRET"' }, inherit)).events), ['stdout:s3cret']);
    const bad = await run({ command: 'true', env: { 'A=B': 'x' } });
    assert.match((bad.items[0] as { message: string }).message, /^Invalid params: env name 'A=B'/);
    const nul = await run({ command: 'echo a\0b' });
    assert.deepEqual(
      [(nul.items[0] as { code?: string }).code, (nul.items[0] as { message: string }).message],
      ['-32602', 'Invalid params: command contains a NUL byte'],
    );
  });
});

describe('bash.execute: timeouts', () => {
  it('a per-call timeout terminates the whole group: error event, exit with timed_out, then the error item', async () => {
    const items: BashEvent[] = [];
    let ended: StreamItem | undefined;
    for await (const item of hub.call('bash.execute', { command: TREE, timeout_ms: 500 })) {
      if (item.type === 'data') items.push(item.content as BashEvent);
      else if (item.type === 'error') ended = item;
    }
    assert.match((ended as { message: string } | undefined)?.message ?? '', /^command timed out after 500 ms/);
    const [leader, grandchild] = lines(items).map((l) => Number(l.split(':')[1]));
    assert.deepEqual(
      items.slice(2).map((e) => e.type),
      ['error', 'exit'],
    );
    assert.match((items[2] as { message: string }).message, /^command timed out after 500 ms; its process group was terminated$/);
    assert.deepEqual(pick(items[3]), { type: 'exit', code: -1, signal: 'SIGTERM' });
    assert.equal((items[3] as { timed_out?: boolean }).timed_out, true);
    await assertGone([leader!, grandchild!]);
  });

  it('a process that left the group (setsid) and holds the pipes cannot hang the call past its timeout, nor outlive it', async () => {
    const { events } = await run({ command: `setsid sh -c '${ME}; exec sleep 300' & wait`, timeout_ms: 1000 });
    const escaped = Number((events[0] as { line: string }).line);
    assert.deepEqual(
      events.slice(1).map((e) => e.type),
      ['error', 'exit'],
    );
    // Out of the group but not out of the call (process-containment.test.ts has the rest).
    assert.equal(isRunning(escaped), false);
  });

  it('the default timeout applies when none is given; out-of-range timeouts are -32602', async () => {
    const short = new DynamicHub().register(bash({ defaultTimeoutMs: 200 }));
    const { events } = await run({ command: 'sleep 300' }, short);
    assert.equal((events.at(-1) as { timed_out?: boolean }).timed_out, true);
    for (const timeout_ms of [0, 1.5, 20_001]) {
      const { items } = await run({ command: 'true', timeout_ms });
      assert.equal((items[0] as { code?: string }).code, '-32602', `timeout_ms ${timeout_ms}`);
      assert.match((items[0] as { message: string }).message, /timeout_ms must be an integer from 1 to 20000/);
    }
  });
});

describe('bash.execute: output cap', () => {
  it('keeps exactly the cap, then a truncation item, closes the pipes, and still reports the exit', async () => {
    const { events } = await run({ command: 'yes abcdefghi | head -c 100000; echo after >&2' });
    const out = events.filter((e) => e.type === 'stdout');
    assert.equal(out.length, 100); // 100 lines of 10 bytes = the 1000-byte cap
    assert.ok(out.every((e) => (e as { line: string }).line === 'abcdefghi'));
    const rest = events.slice(100);
    assert.deepEqual(
      rest.map((e) => e.type),
      ['truncated', 'exit'],
    );
    assert.deepEqual(rest[0], {
      type: 'truncated',
      limit_bytes: 1000,
      message: "output exceeded 1000 bytes: the rest was discarded and the command's pipes were closed",
    });
  });

  it('an endless writer ends at the cap (SIGPIPE), not at the timeout; a line cut by the cap is partial', async () => {
    const { items, events } = await run({ command: "printf 'x%.0s' $(seq 1 1500); yes" });
    assert.deepEqual(events[0], { type: 'stdout', line: 'x'.repeat(1000), partial: true });
    assert.deepEqual(
      events.slice(1).map((e) => e.type),
      ['truncated', 'exit'],
    );
    // The cap's SIGPIPE is not a failure of the call: no error item.
    assert.ok(!items.some((i) => i.type === 'error'), JSON.stringify(items.at(-2)));
    const exit = events[2] as Extract<BashEvent, { type: 'exit' }>;
    assert.equal(exit.timed_out, undefined);
  });
});

describe('bash.execute: background jobs do not outlive the call', () => {
  it('output of a background job is read to the end; a detached one is terminated when the shell exits', async () => {
    const { events } = await run({ command: '(sleep 0.2; echo late) & echo early' });
    assert.deepEqual(lines(events), ['stdout:early', 'stdout:late']);
    const detached = await run({ command: `(${ME}; exec sleep 300 >/dev/null 2>&1) &` });
    const pid = Number((detached.events[0] as { line: string }).line);
    assert.equal(detached.events.at(-1)!.type, 'exit');
    await assertGone([pid]);
  });
});

describe('bash.execute: every kind of cancellation kills the whole process group', { skip: SKIP_NO_PROC }, () => {
  let server: Awaited<ReturnType<typeof serveWebSocket>>;
  before(async () => {
    server = await serveWebSocket(hub, { port: 0 });
  });
  after(() => server.close({ graceMs: 0 }));

  it('in process: leaving the loop (generator return)', async () => {
    const pids: number[] = [];
    for await (const item of hub.call('bash.execute', { command: TREE })) {
      pids.push(Number((item as { content: { line: string } }).content.line));
      if (pids.length === 2) break;
    }
    await assertGone(pids);
  });

  it('in process: an aborted signal', async () => {
    const ac = new AbortController();
    const items = hub.call('bash.execute', { command: TREE }, { signal: ac.signal })[Symbol.asyncIterator]();
    const pids: number[] = [];
    while (pids.length < 2) pids.push(Number(((await items.next()).value as { content: { line: string } }).content.line));
    assert.ok(pids.every(isRunning));
    ac.abort();
    await assertGone(pids);
    for (;;) if ((await items.next().catch(() => ({ done: true }))).done) break; // and the stream ends
  });

  it('WebSocket: plexus.call_unsub', async () => {
    const c = await Raw.open(server.url);
    const sub = await c.execute(1, TREE);
    const pids = await c.pids(sub);
    assert.ok(pids.every(isRunning));
    c.send({ jsonrpc: '2.0', id: 2, method: 'plexus.call_unsub', params: [sub] });
    assert.equal((await c.waitFor((f) => f.id === 2)).result, true);
    await assertGone(pids);
    c.ws.close();
  });

  it('WebSocket: the client disconnects', async () => {
    const c = await Raw.open(server.url);
    const pids = [...(await c.pids(await c.execute(1, TREE))), ...(await c.pids(await c.execute(2, TREE)))];
    assert.ok(pids.every(isRunning));
    c.ws.terminate(); // no close handshake: the TCP connection just drops
    await assertGone(pids);
  });

  it('a grandchild that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const c = await Raw.open(server.url);
    const sub = await c.execute(1, STUBBORN_TREE);
    const [leader, stubborn] = await c.pids(sub);
    c.ws.close();
    await assertGone([leader!]);
    await assertGone([stubborn!]);
  });

  it('MCP: the SDK client cancels the tool call (notifications/cancelled)', async () => {
    const mcp = await serveMcpHttp(hub, { port: 0 });
    const client = new Client({ name: 'bash-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url)));
    try {
      const ac = new AbortController();
      const pids: number[] = [];
      const call = client.callTool({ name: 'bash.execute', arguments: { command: TREE } }, undefined, {
        signal: ac.signal,
        onprogress: (p) => {
          const event = JSON.parse(p.message ?? '{}') as BashEvent;
          if (event.type === 'stdout') pids.push(Number(event.line));
        },
      });
      const rejected = assert.rejects(call, /abort/i);
      await eventually(() => pids.length === 2, 5000);
      assert.ok(pids.every(isRunning));
      ac.abort();
      await rejected;
      await assertGone(pids);
    } finally {
      await client.close();
      await mcp.close();
    }
  });

  it('server shutdown cancels running commands', async () => {
    const own = await serveWebSocket(hub, { port: 0 });
    const c = await Raw.open(own.url);
    const pids = await c.pids(await c.execute(1, TREE));
    assert.ok(pids.every(isRunning));
    await own.close({ graceMs: 100, reason: 'Server shutting down' });
    await assertGone(pids);
  });
});

describe('bash: the end of the suite', { skip: SKIP_NO_PROC }, () => {
  it('leaves no running process and no unreaped child behind', async () => {
    await assertNoLeftovers(MARK);
    rmSync(dir, { recursive: true, force: true });
  });
});
