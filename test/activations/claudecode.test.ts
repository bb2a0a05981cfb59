import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { DynamicHub, serveWebSocket, type StreamItem } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { ClaudeCode, type ChatEvent, type CreateOk, type GetOk, type NodeEvent } from '../../activations/claudecode/index.js';
import { baseEnvironment } from '../../activations/process/index.js';
import { writeFakeClaude } from '../fixtures/fake-claude.js';
import { collect, contents, eventually } from '../support/helpers.js';
import { assertGone, assertNoLeftovers, isRunning, SKIP_NO_PROC } from '../support/processes.js';

const MARK = randomUUID();
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-claudecode-')));
const work = join(dir, 'project');
mkdirSync(work);
const fake = writeFakeClaude(dir);
const LOG = join(dir, 'claude-log.jsonl');
const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
// CLAUDECODE is set for the hub, and must not reach the CLI (the reference removes it too).
const env = { ...baseEnvironment('minimal'), PLEXUS_TEST_MARK: MARK, FAKE_CLAUDE_LOG: LOG, CLAUDECODE: '1' };
const SESSIONS = join(dir, 'projects');
const claudecode = new ClaudeCode({ arbor, claudePath: fake, env, killGraceMs: 300, sessionsRoot: SESSIONS });
const hub = new DynamicHub().register(arbor, claudecode);

interface Launch {
  kind: string;
  args: string[];
  cwd: string;
  claudecode: string | null;
  pid: number;
}
function launches(): Launch[] {
  try {
    return readFileSync(LOG, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.kind === 'start');
  } catch {
    return [];
  }
}
const lastLaunch = () => launches().at(-1)!;

async function call<T>(path: string, params: Record<string, unknown>): Promise<T> {
  const items = await collect(hub.call(path, params));
  const error = items.find((i) => i.type === 'error');
  if (error) throw Object.assign(new Error((error as { message: string }).message), { code: (error as { code?: string }).code });
  return contents(items)[0] as T;
}
async function chat(name: string, prompt: string, extra: Record<string, unknown> = {}): Promise<ChatEvent[]> {
  return contents(await collect(hub.call('claudecode.chat', { name, prompt, ...extra }))) as ChatEvent[];
}
/** A failed turn: the in-band `error` event (as the reference sends it), then the stream's error item. */
function assertFailedTurn(items: readonly StreamItem[], message: string | RegExp): void {
  // The error item, then `done` (the spec's choice: every stream ends with one done).
  assert.equal(items.at(-1)!.type, 'done');
  const last = items.at(-2) as { type: string; code?: string; message?: string };
  assert.equal(last.type, 'error', JSON.stringify(items));
  assert.equal(last.code, 'claudecode.turn_failed');
  const inBand = (contents(items) as ChatEvent[]).at(-1) as { type: string; message: string };
  assert.equal(inBand.type, 'error');
  if (typeof message === 'string') assert.equal(inBand.message, message);
  else assert.match(inBand.message, message);
  assert.equal(last.message, `claude turn failed: ${inBand.message}`);
}
const complete = (events: ChatEvent[]) => events.at(-1) as Extract<ChatEvent, { type: 'complete' }>;
const base = ['--output-format', 'stream-json', '--include-partial-messages', '--verbose', '--print'];

/** The NodeEvent types on the path root → node (external nodes as "ext:<role>"). */
function pathTypes(treeId: string, nodeId: string): string[] {
  return arbor.storage
    .contextGetPath(treeId, nodeId)
    .filter((n) => !(n.data.type === 'text' && n.data.content === ''))
    .map((n) => (n.data.type === 'text' ? (JSON.parse(n.data.content) as NodeEvent).type : `ext:${n.data.handle.meta![1]}`));
}
const TURN = [
  'ext:user',
  'user_message',
  'launch_command',
  'assistant_start',
  'content_text',
  'content_text',
  'content_text',
  'assistant_complete',
  'ext:assistant',
];

describe('claudecode: sessions, turns and the session chain in arbor (fake claude binary)', () => {
  let created: CreateOk;
  let sid1: string;

  it('create makes a session with its own arbor tree; get and list show it', async () => {
    created = await call<CreateOk>('claudecode.create', { name: 'main', working_dir: work, model: 'sonnet', system_prompt: 'be brief' });
    assert.equal(created.type, 'created');
    assert.equal(created.head.node_id, arbor.storage.treeGet(created.head.tree_id).root);
    const { config } = await call<GetOk>('claudecode.get', { name: 'main' });
    assert.deepEqual(
      { ...config, created_at: 0, updated_at: 0 },
      {
        id: created.id,
        name: 'main',
        claude_session_id: null,
        loopback_session_id: null,
        head: created.head,
        working_dir: work,
        model: 'sonnet',
        system_prompt: 'be brief',
        mcp_config: null,
        loopback_enabled: false,
        metadata: null,
        created_at: 0,
        updated_at: 0,
      },
    );
    const list = await call<{ sessions: { name: string }[] }>('claudecode.list', {});
    assert.deepEqual(
      list.sessions.map((s) => s.name),
      ['main'],
    );
  });

  it('a turn: the reference argv, streamed text, a complete with total_cost_usd; the head moves', async () => {
    const events = await chat('main', 'hi');
    const launch = lastLaunch();
    assert.deepEqual(launch.args, [...base, '--model', 'sonnet', '--system-prompt', 'be brief', '--', 'hi']);
    assert.equal(launch.cwd, work);
    assert.equal(launch.claudecode, null);
    assert.deepEqual(
      events.map((e) => e.type),
      ['start', 'content', 'content', 'content', 'complete'],
    );
    assert.deepEqual(
      events.slice(1, 4).map((e) => (e as { text: string }).text),
      ['Hello', ', ', 'you said: hi'],
    );
    const done = complete(events);
    sid1 = done.claude_session_id;
    assert.match(sid1, /^[0-9a-f-]{36}$/);
    assert.deepEqual(done.usage, { input_tokens: 10, output_tokens: 5, cost_usd: 0.0123, num_turns: 1 });
    const start = events[0] as Extract<ChatEvent, { type: 'start' }>;
    assert.equal(arbor.storage.nodeGetParent(created.head.tree_id, start.user_position.node_id), created.head.node_id);
    assert.deepEqual(pathTypes(created.head.tree_id, done.new_head.node_id), TURN);
    const { config } = await call<GetOk>('claudecode.get', { name: 'main' });
    assert.deepEqual(config.head, done.new_head);
    assert.equal(config.claude_session_id, sid1);
  });

  it('the next turn resumes the CLI session (--resume) and chains under the previous head', async () => {
    const before = (await call<GetOk>('claudecode.get', { name: 'main' })).config.head;
    const events = await chat('main', 'again');
    assert.deepEqual(lastLaunch().args, [...base, '--resume', sid1, '--model', 'sonnet', '--system-prompt', 'be brief', '--', 'again']);
    const start = events[0] as Extract<ChatEvent, { type: 'start' }>;
    assert.equal(arbor.storage.nodeGetParent(before.tree_id, start.user_position.node_id), before.node_id);
    assert.equal(complete(events).claude_session_id, sid1);
    assert.deepEqual(pathTypes(before.tree_id, complete(events).new_head.node_id), [...TURN, ...TURN]);
    const { messages } = await call<{ messages: unknown[] }>('claudecode.render_context', { name: 'main' });
    assert.deepEqual(messages, [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello, you said: hi' }] },
      { role: 'user', content: [{ type: 'text', text: 'again' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello, you said: again' }] },
    ]);
    const tree = await call<{ render: string }>('arbor.tree_render', { tree_id: before.tree_id });
    assert.match(tree.render, /Hello, you said: again/, 'arbor resolves claudecode message handles');
  });

  it('fork branches at the head: the first turn sends --resume <parent> --fork-session, later ones resume the fork', async () => {
    const parent = (await call<GetOk>('claudecode.get', { name: 'main' })).config;
    const forked = await call<{ type: string; id: string; head: unknown }>('claudecode.fork', { name: 'main', new_name: 'branch' });
    assert.equal(forked.type, 'forked');
    assert.deepEqual(forked.head, parent.head);
    const first = await chat('branch', 'fork it');
    assert.deepEqual(lastLaunch().args, [
      ...base,
      '--resume',
      sid1,
      '--fork-session',
      '--model',
      'sonnet',
      '--system-prompt',
      'be brief',
      '--',
      'fork it',
    ]);
    const forkSid = complete(first).claude_session_id;
    assert.notEqual(forkSid, sid1);
    await chat('branch', 'and on');
    assert.deepEqual(lastLaunch().args.slice(5, 8), ['--resume', forkSid, '--model']);
    const after = (await call<GetOk>('claudecode.get', { name: 'main' })).config;
    assert.deepEqual([after.head, after.claude_session_id], [parent.head, sid1], 'the parent is untouched');
    const branch = (await call<GetOk>('claudecode.get', { name: 'branch' })).config;
    assert.equal(branch.head.tree_id, parent.head.tree_id, 'one tree, two branches');
    assert.deepEqual(pathTypes(branch.head.tree_id, branch.head.node_id), [...TURN, ...TURN, ...TURN, ...TURN]);
    const rendered = await call<{ messages: { content: { text: string }[] }[] }>('claudecode.render_context', { name: 'branch' });
    assert.deepEqual(
      rendered.messages.filter((_, i) => i % 2 === 0).map((m) => m.content[0]!.text),
      ['hi', 'again', 'fork it', 'and on'],
    );
  });

  it('an ephemeral turn forks the CLI session and leaves the head where it was', async () => {
    const before = (await call<GetOk>('claudecode.get', { name: 'main' })).config;
    const events = await chat('main', 'just asking', { ephemeral: true });
    assert.deepEqual(lastLaunch().args.slice(5, 8), ['--resume', sid1, '--fork-session']);
    assert.deepEqual(complete(events).new_head, before.head);
    const after = (await call<GetOk>('claudecode.get', { name: 'main' })).config;
    assert.deepEqual([after.head, after.claude_session_id], [before.head, sid1]);
    const userNode = (events[0] as Extract<ChatEvent, { type: 'start' }>).user_position.node_id;
    assert.equal(arbor.storage.nodeGet(before.head.tree_id, userNode).state, 'scheduled_delete');
  });

  it('tool use (reported once), tool result from the CLI’s user event, thinking, passthrough of unknown events', async () => {
    const events = await chat('main', 'tool', { allowed_tools: ['Bash', 'Read'] });
    assert.deepEqual(lastLaunch().args.slice(-4), ['--allowedTools', 'Bash,Read', '--', 'tool']);
    assert.deepEqual(
      events.map((e) => e.type),
      ['start', 'tool_use', 'thinking', 'tool_result', 'passthrough', 'content', 'complete'],
    );
    assert.deepEqual(events[1], { type: 'tool_use', tool_name: 'Bash', tool_use_id: 'toolu_1', input: { command: 'ls' } });
    assert.deepEqual(events[3], { type: 'tool_result', tool_use_id: 'toolu_1', output: 'a.txt\nb.txt', is_error: false });
    const pass = events[4] as Extract<ChatEvent, { type: 'passthrough' }>;
    assert.equal(pass.event_type, 'rate_limit_event');
    assert.match(pass.handle, /^[0-9a-f-]{36}$/);
    assert.deepEqual((pass.data as { status: string }).status, 'allowed');
    const { messages } = await call<{ messages: { role: string; content: { type: string }[] }[] }>('claudecode.render_context', {
      name: 'main',
    });
    assert.deepEqual(
      messages.slice(-3).map((m) => [m.role, m.content.map((c) => c.type).join(',')]),
      [
        ['assistant', 'tool_use,thinking'],
        ['user', 'tool_result'],
        ['assistant', 'text'],
      ],
    );
  });

  it('malformed lines are error items naming the line; the turn still completes', async () => {
    const events = await chat('main', 'malformed');
    assert.deepEqual(
      events.map((e) => e.type),
      ['start', 'error', 'error', 'content', 'complete'],
    );
    assert.match(
      (events[1] as { message: string }).message,
      /^malformed stream-json from claude: line 2 is not JSON \(.*\): "this is not json"$/,
    );
    assert.match(
      (events[2] as { message: string }).message,
      /^malformed stream-json from claude: line 3 is not an object with a string "type": "\[1, 2\]"$/,
    );
  });

  it('a crash mid-stream ends the turn with an error naming the exit and stderr; the head does not move', async () => {
    const before = (await call<GetOk>('claudecode.get', { name: 'main' })).config.head;
    const items = await collect(hub.call('claudecode.chat', { name: 'main', prompt: 'crash' }));
    const events = contents(items) as ChatEvent[];
    assert.deepEqual(
      events.map((e) => e.type),
      ['start', 'content', 'error'],
    );
    assertFailedTurn(items, 'claude exited with code 3 before its result event (crashed mid-stream?); stderr: fatal: something broke');
    assert.deepEqual((await call<GetOk>('claudecode.get', { name: 'main' })).config.head, before);
  });

  it('an error result is an error event and ends the stream with an error item', async () => {
    const items = await collect(hub.call('claudecode.chat', { name: 'main', prompt: 'fail' }));
    assert.deepEqual(
      (contents(items) as ChatEvent[]).map((e) => e.type),
      ['start', 'error'],
    );
    assertFailedTurn(items, 'API overloaded');
  });

  it('a turn that completes ends with done, not an error item (malformed lines are only events)', async () => {
    const items = await collect(hub.call('claudecode.chat', { name: 'main', prompt: 'malformed' }));
    assert.deepEqual(
      items.map((i) => i.type),
      ['data', 'data', 'data', 'data', 'data', 'done'],
    );
  });

  it('errors carry the reference codes: not found, ambiguous, path resolution; a missing binary is an error item', async () => {
    await assert.rejects(call('claudecode.get', { name: 'nope' }), {
      code: 'claudecode.session_not_found',
      message: 'session not found: nope',
    });
    await call('claudecode.create', { name: 'main-2', working_dir: work, model: 'haiku' });
    await assert.rejects(call('claudecode.get', { name: 'mai' }), {
      code: 'claudecode.ambiguous_session',
      message: "ambiguous session name 'mai' matches multiple sessions: main, main-2",
    });
    await assert.rejects(call('claudecode.create', { name: 'x', working_dir: join(dir, 'missing'), model: 'opus' }), {
      code: 'claudecode.path_resolution',
    });
    await assert.rejects(call('claudecode.chat', { name: 'main', prompt: 'a\0b' }), {
      code: '-32602',
      message: 'Invalid params: prompt contains a NUL byte',
    });
    const twice = await call<CreateOk>('claudecode.create', { name: 'main', working_dir: work, model: 'opus' });
    assert.equal((await call<GetOk>('claudecode.get', { name: twice.id })).config.name, `main#${twice.id}`);
    const missing = new ClaudeCode({ arbor, claudePath: join(dir, 'no-claude'), env });
    const lone = new DynamicHub().register(missing);
    const s = contents(await collect(lone.call('claudecode.create', { name: 'lone', working_dir: work, model: 'opus' })))[0] as CreateOk;
    const items = await collect(lone.call('claudecode.chat', { name: s.id, prompt: 'hi' }));
    assert.deepEqual(
      (contents(items) as ChatEvent[]).map((e) => e.type),
      ['start', 'error'],
    );
    assertFailedTurn(items, /^failed to spawn claude \(.*no-claude\): .*ENOENT/);
  });

  it('chat_async runs the turn in the background; poll pages through its events; streams lists it', async () => {
    const started = await call<{ type: string; stream_id: string; session_id: string }>('claudecode.chat_async', {
      name: 'main',
      prompt: 'later',
    });
    assert.equal(started.type, 'started');
    await eventually(() => claudecode.streamStatus(started.stream_id) === 'complete', 5000);
    const first = await call<{
      status: string;
      events: { seq: number; event: ChatEvent }[];
      read_position: number;
      total_events: number;
      has_more: boolean;
    }>('claudecode.poll', { stream_id: started.stream_id, limit: 2 });
    assert.deepEqual(
      [first.status, first.events.map((e) => [e.seq, e.event.type]), first.read_position, first.total_events, first.has_more],
      [
        'complete',
        [
          [0, 'start'],
          [1, 'content'],
        ],
        2,
        5,
        true,
      ],
    );
    const rest = await call<typeof first>('claudecode.poll', { stream_id: started.stream_id });
    assert.deepEqual(
      [rest.events.map((e) => e.event.type), rest.read_position, rest.has_more],
      [['content', 'content', 'complete'], 5, false],
    );
    const again = await call<typeof first>('claudecode.poll', { stream_id: started.stream_id, from_seq: 4 });
    assert.deepEqual(
      again.events.map((e) => e.event.type),
      ['complete'],
    );
    const { streams } = await call<{ streams: { stream_id: string; status: string; session_id: string }[] }>('claudecode.streams', {
      session_id: started.session_id,
    });
    assert.deepEqual(
      streams.map((x) => [x.stream_id, x.status]),
      [[started.stream_id, 'complete']],
    );
    const unknown = randomUUID();
    await assert.rejects(call('claudecode.poll', { stream_id: unknown }), {
      code: 'claudecode.session_not_found',
      message: `session not found: stream:${unknown}`,
    });
  });

  it('delete removes the session (the tree stays)', async () => {
    const { config } = await call<GetOk>('claudecode.get', { name: 'branch' });
    assert.deepEqual(await call('claudecode.delete', { name: 'branch' }), { type: 'deleted', id: config.id });
    await assert.rejects(call('claudecode.get', { name: 'branch' }), { code: 'claudecode.session_not_found' });
    assert.ok(arbor.storage.treeGet(config.head.tree_id));
  });
});

describe('claudecode: session files (sessions_*) under a contained root', () => {
  const events = [
    { type: 'user', sessionId: 's1', message: { role: 'user', content: 'list files' } },
    {
      type: 'assistant',
      sessionId: 's1',
      message: {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'ls' },
          { type: 'text', text: 'Running ls.' },
          { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } },
        ],
      },
    },
    {
      type: 'user',
      sessionId: 's1',
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'a.txt' }] }] },
    },
    { type: 'assistant', sessionId: 's1', message: { role: 'assistant', content: [{ type: 'text', text: 'One file.' }] } },
    { type: 'file-history-snapshot', timestamp: null },
  ];
  before(() => {
    mkdirSync(join(SESSIONS, 'proj'), { recursive: true });
    writeFileSync(join(SESSIONS, 'proj', 's1.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n{"torn":\n`);
    mkdirSync(join(dir, 'outside'), { recursive: true });
    writeFileSync(join(dir, 'outside', 'secret.jsonl'), '{"type":"user"}\n');
    symlinkSync(join(dir, 'outside'), join(SESSIONS, 'escape'));
  });

  it('list and get read the CLI’s JSONL (a torn line skipped)', async () => {
    assert.deepEqual(await call('claudecode.sessions_list', { project_path: 'proj' }), { sessions: ['s1'] });
    assert.deepEqual(await call('claudecode.sessions_list', { project_path: 'none-yet' }), { sessions: [] });
    const got = await call<{ event_count: number; events: unknown[] }>('claudecode.sessions_get', {
      project_path: 'proj',
      session_id: 's1',
    });
    assert.equal(got.event_count, 5);
    assert.deepEqual(got.events, events);
  });

  it('import builds a turn chain in a new tree; export writes it back as session events', async () => {
    const { tree_id } = await call<{ tree_id: string }>('claudecode.sessions_import', { project_path: 'proj', session_id: 's1' });
    const tree = arbor.storage.treeGet(tree_id);
    assert.deepEqual(tree.metadata, { source: 'claude_session_import', session_id: 's1', project_path: 'proj' });
    const leaf = arbor.storage.contextListLeaves(tree_id)[0]!;
    assert.deepEqual(pathTypes(tree_id, leaf), [
      'user_message',
      'assistant_start',
      'content_thinking',
      'content_text',
      'content_tool_use',
      'assistant_complete',
      'user_tool_result',
      'assistant_start',
      'content_text',
      'assistant_complete',
    ]);
    assert.deepEqual(await call('claudecode.sessions_export', { tree_id, project_path: 'exported', session_id: 's2' }), {
      tree_id,
      session_id: 's2',
    });
    const back = await call<{ events: { type: string; sessionId: string; message: { content: unknown } }[] }>('claudecode.sessions_get', {
      project_path: 'exported',
      session_id: 's2',
    });
    assert.deepEqual(
      back.events.map((e) => [e.type, e.sessionId, e.message.content]),
      [
        ['user', 's2', 'list files'],
        [
          'assistant',
          's2',
          [
            { type: 'thinking', thinking: 'ls' },
            { type: 'text', text: 'Running ls.' },
            { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } },
          ],
        ],
        ['user', 's2', [{ type: 'tool_result', tool_use_id: 't1', content: 'a.txt', is_error: false }]],
        ['assistant', 's2', [{ type: 'text', text: 'One file.' }]],
      ],
    );
  });

  it('refuses names that leave the root: .., separators, a symlinked project dir', async () => {
    for (const [project_path, session_id] of [
      ['..', 's1'],
      ['a/b', 's1'],
      ['/etc', 's1'],
      ['proj', '../s1'],
      ['', 's1'],
    ]) {
      await assert.rejects(
        call('claudecode.sessions_get', { project_path, session_id }),
        { code: 'claudecode.session_file' },
        `${project_path} ${session_id}`,
      );
    }
    await assert.rejects(call('claudecode.sessions_list', { project_path: 'escape' }), {
      code: 'claudecode.session_file',
      message: 'session file error: project_path "escape" resolves outside the session root',
    });
  });

  it('delete removes the file; a missing one is an error', async () => {
    assert.deepEqual(await call('claudecode.sessions_delete', { project_path: 'exported', session_id: 's2' }), {
      session_id: 's2',
      deleted: true,
    });
    await assert.rejects(call('claudecode.sessions_delete', { project_path: 'exported', session_id: 's2' }), {
      code: 'claudecode.session_file',
      message: 'session file error: Session not found: s2',
    });
  });
});

describe('claudecode: cancelling a turn kills the CLI and everything it started', { skip: SKIP_NO_PROC }, () => {
  let server: Awaited<ReturnType<typeof serveWebSocket>>;
  before(async () => {
    server = await serveWebSocket(hub, { port: 0 });
    await call('claudecode.create', { name: 'hangs', working_dir: work, model: 'sonnet' });
  });
  after(() => server.close({ graceMs: 0 }));

  const grandchildren = (): number[] =>
    readFileSync(LOG, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.kind === 'grandchild')
      .map((e) => e.pid);

  it('unsubscribe over a real WebSocket', async () => {
    const before = grandchildren().length;
    const ws = new WebSocket(server.url);
    const frames: any[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'plexus.call',
        params: { method: 'claudecode.chat', params: { name: 'hangs', prompt: 'hang' } },
      }),
    );
    await eventually(() => frames.some((f) => f.params?.result?.content?.type === 'content'), 5000);
    const pids = [lastLaunch().pid, grandchildren()[before]!];
    assert.ok(pids.every(isRunning));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'plexus.call_unsub', params: [frames.find((f) => f.id === 1).result] }));
    await assertGone(pids);
    ws.close();
    // The turn never completed: the session's head did not move.
    const { config } = await call<GetOk>('claudecode.get', { name: 'hangs' });
    assert.equal(config.claude_session_id, null);
  });

  it('in process: leaving the loop', async () => {
    const before = grandchildren().length;
    for await (const item of hub.call('claudecode.chat', { name: 'hangs', prompt: 'hang' }) as AsyncIterable<StreamItem>) {
      if (item.type === 'data' && (item.content as ChatEvent).type === 'content') break;
    }
    await assertGone([lastLaunch().pid, grandchildren()[before]!]);
  });

  it('a turn running on a session refuses a second one at the same time', async () => {
    const first = hub.call('claudecode.chat', { name: 'hangs', prompt: 'hang' })[Symbol.asyncIterator]();
    await first.next();
    const items = await collect(hub.call('claudecode.chat', { name: 'hangs', prompt: 'hi' }));
    assert.deepEqual(contents(items), [{ type: 'error', message: "session 'hangs' already has a turn running" }]);
    const { type, code, message } = items.at(-2) as { type: string; code: string; message: string };
    assert.deepEqual({ type, code, message }, { type: 'error', code: '-32000', message: "session 'hangs' already has a turn running" });
    await first.return!();
  });
});

describe('claudecode: the end of the suite', { skip: SKIP_NO_PROC }, () => {
  it('leaves no running process and no unreaped child behind', async () => {
    await assertNoLeftovers(MARK);
    claudecode.close();
    arbor.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
