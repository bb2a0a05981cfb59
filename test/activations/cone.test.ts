// cone end to end in process: every method, for both provider wire formats, against
// the fake provider over real HTTP on loopback, with arbor on SQLite (:memory:).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DynamicHub, type StreamItem } from '../../src/index.js';
import { Arbor, type Node, type Tree } from '../../activations/arbor/index.js';
import { Cone, LlmRegistry, type ChatEvent } from '../../activations/cone/index.js';
import { FakeLlmServer, settledWithin, type FakeFormat, type FakeReply } from '../support/fake-llm-server.js';
import { collect, contents, errorOf, eventually } from '../support/helpers.js';

const KEY = 'sk-test-cone-0123456789abcdef';
const MODEL: Record<FakeFormat, string> = { anthropic: 'claude-3-haiku-20240307', openai: 'gpt-4o-mini', gemini: 'gemini-2.0-flash' };

interface Rig {
  fake: FakeLlmServer;
  arbor: Arbor;
  cone: Cone;
  hub: DynamicHub;
  call(path: string, params?: Record<string, unknown>, signal?: AbortSignal): Promise<StreamItem[]>;
  one<T = any>(path: string, params?: Record<string, unknown>): Promise<T>;
  chat(name: string, prompt: string, extra?: Record<string, unknown>): Promise<StreamItem[]>;
  tree(coneName: string): Promise<Tree>;
  close(): Promise<void>;
}

async function rig(options: { idleTimeoutMs?: number } = {}): Promise<Rig> {
  const fake = await FakeLlmServer.start({ apiKey: KEY });
  const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
  const llm = new LlmRegistry({
    env: {
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      ANTHROPIC_API_KEY: KEY,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      OPENAI_API_KEY: KEY,
      GEMINI_BASE_URL: fake.geminiBaseUrl,
      GOOGLE_API_KEY: KEY,
    },
    config: { idle_timeout_ms: options.idleTimeoutMs ?? 5_000, request_timeout_ms: 5_000 },
  });
  const cone = new Cone({ arbor, llm });
  const hub = new DynamicHub('plexus').register(arbor, cone);
  const call = (path: string, params: Record<string, unknown> = {}, signal?: AbortSignal) =>
    collect(hub.call(path, params, signal ? { signal } : {}));
  const r: Rig = {
    fake,
    arbor,
    cone,
    hub,
    call,
    async one(path, params) {
      const items = await call(path, params);
      const err = errorOf(items);
      assert.equal(err, undefined, `${path} failed: ${err?.code} ${err?.message}`);
      return contents(items)[0] as any;
    },
    chat: (name, prompt, extra = {}) => call('cone.chat', { identifier: { type: 'by_name', name }, prompt, ...extra }),
    async tree(coneName) {
      const { cone: c } = await r.one('cone.get', { identifier: { type: 'by_name', name: coneName } });
      return (await r.one('arbor.tree_get', { tree_id: c.head.tree_id })).tree;
    },
    async close() {
      cone.close();
      arbor.close();
      await fake.close();
    },
  };
  return r;
}

const events = (items: StreamItem[]) => contents(items) as ChatEvent[];
const answerOf = (items: StreamItem[]) =>
  events(items)
    .map((e) => (e.type === 'chat_content' ? e.content : ''))
    .join('');
const byName = (name: string) => ({ type: 'by_name', name });

/** The nodes below `id`, in order. */
const childrenOf = (tree: Tree, id: string): Node[] => tree.nodes[id]!.children.map((c) => tree.nodes[c]!);

for (const format of ['anthropic', 'openai'] as const) {
  describe(`cone over the ${format} API`, () => {
    let r: Rig;
    before(async () => {
      r = await rig();
    });
    after(() => r.close());

    test('create makes a tree owned by the cone; get by name, prefix and id; list newest first', async () => {
      const created = await r.one('cone.create', {
        name: `${format}-alpha`,
        model_id: MODEL[format],
        system_prompt: 'Be brief.',
        metadata: { purpose: 'test' },
      });
      assert.equal(created.type, 'cone_created');
      const tree = (await r.one('arbor.tree_get', { tree_id: created.head.tree_id })).tree as Tree;
      assert.equal(created.head.node_id, tree.root);
      assert.deepEqual(tree.refs!.owners, { [created.cone_id]: 1 });
      assert.deepEqual(tree.metadata, { purpose: 'test' });

      const { cone } = await r.one('cone.get', { identifier: byName(`${format}-alpha`) });
      assert.deepEqual(
        { ...cone, created_at: 0, updated_at: 0 },
        {
          id: created.cone_id,
          name: `${format}-alpha`,
          model_id: MODEL[format],
          system_prompt: 'Be brief.',
          head: created.head,
          metadata: { purpose: 'test' },
          created_at: 0,
          updated_at: 0,
        },
      );
      assert.equal((await r.one('cone.get', { identifier: byName(`${format}-alp`) })).cone.id, created.cone_id, 'a unique prefix finds it');
      assert.equal(
        (await r.one('cone.get', { identifier: { type: 'by_id', id: created.cone_id.toUpperCase() } })).cone.id,
        created.cone_id,
      );
      // A plain string (a convenience for CLIs): a UUID is an id, anything else a name.
      assert.equal((await r.one('cone.get', { identifier: `${format}-alpha` })).cone.id, created.cone_id);
      assert.equal((await r.one('cone.get', { identifier: created.cone_id })).cone.id, created.cone_id);

      const second = await r.one('cone.create', { name: `${format}-beta`, model_id: MODEL[format] });
      const list = (await r.one('cone.list')).cones as { id: string }[];
      assert.ok(list.findIndex((c) => c.id === second.cone_id) < list.findIndex((c) => c.id === created.cone_id));
      assert.deepEqual(Object.keys(list[0]!).sort(), ['created_at', 'head', 'id', 'model_id', 'name']);
    });

    test('a taken name becomes name#id; an ambiguous prefix and an unknown name are errors', async () => {
      const a = await r.one('cone.create', { name: `${format}-dup`, model_id: MODEL[format] });
      const b = await r.one('cone.create', { name: `${format}-dup`, model_id: MODEL[format] });
      const { cone } = await r.one('cone.get', { identifier: { type: 'by_id', id: b.cone_id } });
      assert.equal(cone.name, `${format}-dup#${b.cone_id}`);
      assert.equal(
        (await r.one('cone.get', { identifier: byName(`${format}-dup`) })).cone.id,
        a.cone_id,
        'the exact name wins over prefixes',
      );
      const ambiguous = errorOf(await r.call('cone.get', { identifier: byName(`${format}-d`) }))!;
      assert.equal(ambiguous.code, 'cone.invalid_state');
      assert.match(
        ambiguous.message,
        new RegExp(
          `^Ambiguous name '${format}-d' matches multiple cones: ${format}-dup, ${format}-dup#.*Use full name with #uuid to disambiguate\\.$`,
        ),
      );
      const missing = errorOf(await r.call('cone.get', { identifier: byName('nobody') }))!;
      assert.deepEqual([missing.code, missing.message], ['cone.not_found', 'Cone not found: nobody']);
      const wildcard = errorOf(await r.call('cone.get', { identifier: byName('%') }))!;
      assert.equal(wildcard.code, 'cone.not_found', '% is literal in the prefix match');
      const badId = errorOf(await r.call('cone.get', { identifier: { type: 'by_id', id: 'not-a-uuid' } }))!;
      assert.equal(badId.code, '-32602');
    });

    test('create refuses an unknown model', async () => {
      const err = errorOf(await r.call('cone.create', { name: 'x', model_id: 'no-such-model' }))!;
      assert.equal(err.code, 'cone.invalid_state');
      assert.match(err.message, /^Invalid model_id 'no-such-model': unknown model/);
      assert.equal(
        ((await r.one('cone.list')).cones as { name: string }[]).some((c) => c.name === 'x'),
        false,
      );
    });

    test('chat streams start, each chunk as it arrives, complete with usage; stores both turns and moves the head', async () => {
      const created = await r.one('cone.create', { name: `${format}-chat`, model_id: MODEL[format], system_prompt: 'Be brief.' });
      r.fake.enqueue({ chunks: ['Hello', ', ', 'Ada', '.'], usage: { input: 21, output: 4 } });
      const items = await r.chat(`${format}-chat`, 'Hi, I am Ada');
      assert.equal(errorOf(items), undefined);
      const evs = events(items);
      assert.equal(evs[0]!.type, 'chat_start');
      assert.deepEqual(
        evs.slice(1, 5).map((e) => e.type === 'chat_content' && e.content),
        ['Hello', ', ', 'Ada', '.'],
      );
      const complete = evs[5]!;
      assert.equal(complete.type, 'chat_complete');
      assert.equal(evs.length, 6);
      assert.equal(items.at(-1)!.type, 'done');
      if (evs[0]!.type !== 'chat_start' || complete.type !== 'chat_complete') throw new Error('unreachable');
      assert.deepEqual(complete.usage, { input_tokens: 21, output_tokens: 4, total_tokens: 25 });
      assert.equal(evs[0].cone_id, created.cone_id);

      // What the provider was asked.
      const sent = r.fake.last!.body;
      assert.equal(sent.model, MODEL[format]);
      // The reference's defaults, sent though nothing was configured.
      assert.deepEqual([sent.temperature, sent.max_tokens], [1, 4096]);
      const expectMessages = [{ role: 'user', content: 'Hi, I am Ada' }];
      if (format === 'anthropic') {
        assert.equal(sent.system, 'Be brief.');
        assert.deepEqual(sent.messages, expectMessages);
      } else {
        assert.deepEqual(sent.messages, [{ role: 'system', content: 'Be brief.' }, ...expectMessages]);
      }

      // What arbor holds: root → user node → assistant node, and the head on the answer.
      const tree = await r.tree(`${format}-chat`);
      const [userNode] = childrenOf(tree, tree.root);
      assert.equal(userNode!.id, evs[0].user_position.node_id);
      assert.equal(userNode!.data.type, 'external');
      const userHandle = userNode!.data.type === 'external' ? userNode!.data.handle : undefined;
      assert.equal(userHandle!.plugin_id, '11429815-0a5e-5fcc-baf2-842ab3666e77');
      assert.deepEqual([userHandle!.version, userHandle!.method, userHandle!.meta!.slice(1)], ['1.0.0', 'chat', ['user', 'user']]);
      assert.match(userHandle!.meta![0]!, /^msg-[0-9a-f-]{36}$/);
      const [assistantNode] = childrenOf(tree, userNode!.id);
      assert.equal(assistantNode!.id, complete.new_head.node_id);
      const assistantHandle = assistantNode!.data.type === 'external' ? assistantNode!.data.handle : undefined;
      assert.deepEqual(assistantHandle!.meta!.slice(1), ['assistant', `${format}-chat`]);
      const { cone } = await r.one('cone.get', { identifier: byName(`${format}-chat`) });
      assert.deepEqual(cone.head, complete.new_head);

      // The stored messages, with the model and token counts on the answer.
      const messages = r.cone.storage.messages(created.cone_id);
      assert.deepEqual(
        messages.map((m) => [m.role, m.content, m.model_id, m.input_tokens, m.output_tokens]),
        [
          ['user', 'Hi, I am Ada', null, null, null],
          ['assistant', 'Hello, Ada.', MODEL[format], 21, 4],
        ],
      );
      assert.equal(`msg-${messages[0]!.id}`, userHandle!.meta![0]);
    });

    test('the next chat sends the whole path root → head as context', async () => {
      await r.one('cone.create', { name: `${format}-ctx`, model_id: MODEL[format] });
      r.fake.enqueue({ chunks: ['first answer'] });
      await r.chat(`${format}-ctx`, 'first question');
      r.fake.enqueue({ chunks: ['second answer'] });
      const items = await r.chat(`${format}-ctx`, 'second question');
      assert.equal(answerOf(items), 'second answer');
      const sent = r.fake.last!.body.messages as { role: string; content: string }[];
      assert.deepEqual(
        sent.filter((m) => m.role !== 'system'),
        [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: 'second question' },
        ],
      );
    });

    test('text nodes and foreign handles on the path become user context, as in the reference', async () => {
      const created = await r.one('cone.create', { name: `${format}-mixed`, model_id: MODEL[format] });
      const tree_id = created.head.tree_id;
      const note = await r.one('arbor.node_create_text', { tree_id, parent: created.head.node_id, content: 'a pasted note' });
      const bash = await r.one('arbor.node_create_external', {
        tree_id,
        parent: note.node_id,
        handle: { plugin_id: 'c425933b-2db7-5bb1-a608-9dd88143fce3', version: '1.0.0', method: 'execute', meta: ['ls -la'] },
      });
      const other = await r.one('arbor.node_create_external', {
        tree_id,
        parent: bash.node_id,
        handle: { plugin_id: '51b330e5-ed88-5fe2-8b58-0c57f2b02ab3', version: '1.0.0', method: 'chat', meta: ['msg-1', 'assistant'] },
      });
      await r.one('cone.set_head', { identifier: byName(`${format}-mixed`), node_id: other.node_id });
      r.fake.enqueue({ chunks: ['ok'] });
      await r.chat(`${format}-mixed`, 'and now?');
      const sent = (r.fake.last!.body.messages as { role: string; content: string }[]).filter((m) => m.role !== 'system');
      assert.deepEqual(sent, [
        { role: 'user', content: 'a pasted note' },
        { role: 'user', content: '[Tool output from bash: ls -la]' },
        { role: 'user', content: '[External reference: 51b330e5-ed88-5fe2-8b58-0c57f2b02ab3@1.0.0::chat:msg-1:assistant]' },
        { role: 'user', content: 'and now?' },
      ]);
    });

    test('two chats at once on one cone: both answers are stored, each under its own prompt', async () => {
      const created = await r.one('cone.create', { name: `${format}-parallel`, model_id: MODEL[format] });
      // The slow reply holds its last chunk until the fast chat has finished, however loaded the machine.
      let finishSlow!: () => void;
      const slowGate = new Promise<void>((resolve) => (finishSlow = resolve));
      r.fake.enqueue({ chunks: ['slow ', 'one'], after: 1, gate: slowGate }, { chunks: ['fast'] });
      // Which request gets which reply depends on arrival order at the provider.
      const chats = [r.chat(`${format}-parallel`, 'first'), r.chat(`${format}-parallel`, 'second')];
      await Promise.race(chats);
      finishSlow();
      const both = await Promise.all(chats);
      assert.deepEqual(both.map(answerOf).sort(), ['fast', 'slow one']);
      const slow = both.find((items) => answerOf(items) === 'slow one')!;
      const tree = await r.tree(`${format}-parallel`);
      const prompts = childrenOf(tree, tree.root);
      assert.equal(prompts.length, 2, 'both prompts branch from the same head');
      for (const p of prompts) assert.equal(p.children.length, 1, 'each prompt has its answer');
      const slowHead = (events(slow).at(-1) as { new_head: { node_id: string } }).new_head.node_id;
      const { cone } = await r.one('cone.get', { identifier: byName(`${format}-parallel`) });
      assert.equal(cone.head.node_id, slowHead, 'the head is the answer that finished last');
      assert.equal(r.cone.storage.messages(created.cone_id).length, 4);
    });

    test('an ephemeral chat answers but leaves the head, and its nodes and messages are marked for deletion', async () => {
      const created = await r.one('cone.create', { name: `${format}-eph`, model_id: MODEL[format] });
      r.fake.enqueue({ chunks: ['passing thought'] });
      const items = await r.chat(`${format}-eph`, 'just wondering', { ephemeral: true });
      const complete = events(items).at(-1)!;
      assert.equal(complete.type, 'chat_complete');
      assert.deepEqual(complete.type === 'chat_complete' && complete.new_head, created.head, 'new_head is the old head');
      const { cone } = await r.one('cone.get', { identifier: byName(`${format}-eph`) });
      assert.deepEqual(cone.head, created.head);
      const tree = await r.tree(`${format}-eph`);
      const [userNode] = childrenOf(tree, tree.root);
      const [assistantNode] = childrenOf(tree, userNode!.id);
      assert.deepEqual([userNode!.state, assistantNode!.state], ['scheduled_delete', 'scheduled_delete']);
      assert.ok(
        r.cone.storage.messages(created.cone_id).every((m) => m.created_at < 0),
        'ephemeral messages have negative created_at',
      );
      // The next chat does not see the ephemeral turn.
      r.fake.enqueue({ chunks: ['fresh'] });
      await r.chat(`${format}-eph`, 'again');
      assert.deepEqual(
        (r.fake.last!.body.messages as { role: string }[]).filter((m) => m.role !== 'system'),
        [{ role: 'user', content: 'again' }],
      );
    });

    test('set_head moves the head to a node of the tree (branching); other nodes are refused', async () => {
      await r.one('cone.create', { name: `${format}-branch`, model_id: MODEL[format] });
      r.fake.enqueue({ chunks: ['A1'] });
      const first = events(await r.chat(`${format}-branch`, 'Q1'));
      r.fake.enqueue({ chunks: ['A2'] });
      const second = events(await r.chat(`${format}-branch`, 'Q2'));
      const firstHead =
        first.at(-1)!.type === 'chat_complete' ? (first.at(-1) as { new_head: { node_id: string; tree_id: string } }).new_head : undefined;
      const secondHead =
        second.at(-1)!.type === 'chat_complete' ? (second.at(-1) as { new_head: { node_id: string } }).new_head : undefined;
      const moved = await r.one('cone.set_head', { identifier: byName(`${format}-branch`), node_id: firstHead!.node_id });
      assert.deepEqual(
        [moved.type, moved.old_head.node_id, moved.new_head.node_id],
        ['head_updated', secondHead!.node_id, firstHead!.node_id],
      );
      r.fake.enqueue({ chunks: ['A2b'] });
      await r.chat(`${format}-branch`, 'Q2b');
      assert.deepEqual(
        (r.fake.last!.body.messages as { role: string; content: string }[]).filter((m) => m.role !== 'system').map((m) => m.content),
        ['Q1', 'A1', 'Q2b'],
        'the new turn continues from the chosen node',
      );
      const tree = await r.tree(`${format}-branch`);
      const a1 = tree.nodes[firstHead!.node_id]!;
      assert.equal(a1.children.length, 2, 'two branches below A1');

      const otherCone = await r.one('cone.create', { name: `${format}-other`, model_id: MODEL[format] });
      const foreign = errorOf(await r.call('cone.set_head', { identifier: byName(`${format}-branch`), node_id: otherCone.head.node_id }))!;
      assert.equal(foreign.code, 'cone.arbor_error');
      assert.match(foreign.message, /^Arbor error: Node not found: /);
      const bad = errorOf(await r.call('cone.set_head', { identifier: byName(`${format}-branch`), node_id: 'nope' }))!;
      assert.equal(bad.code, '-32602');
    });

    test('delete removes the cone and its messages, keeps the tree', async () => {
      const created = await r.one('cone.create', { name: `${format}-gone`, model_id: MODEL[format] });
      r.fake.enqueue({ chunks: ['bye'] });
      await r.chat(`${format}-gone`, 'hello');
      const deleted = await r.one('cone.delete', { identifier: byName(`${format}-gone`) });
      assert.deepEqual(deleted, { type: 'cone_deleted', cone_id: created.cone_id });
      assert.equal(errorOf(await r.call('cone.get', { identifier: { type: 'by_id', id: created.cone_id } }))!.code, 'cone.not_found');
      assert.equal(errorOf(await r.call('cone.delete', { identifier: { type: 'by_id', id: created.cone_id } }))!.code, 'cone.not_found');
      assert.deepEqual(r.cone.storage.messages(created.cone_id), []);
      const tree = (await r.one('arbor.tree_get', { tree_id: created.head.tree_id })).tree as Tree;
      assert.equal(Object.keys(tree.nodes).length, 3, 'root, user and assistant nodes stay');
    });

    test('registry lists the services (base URLs, never keys) and models', async () => {
      const items = await r.call('cone.registry');
      const reg = contents(items)[0] as any;
      assert.equal(reg.type, 'registry');
      const svc = reg.services.find((s: any) => s.name === format);
      assert.equal(svc.base_url, format === 'anthropic' ? r.fake.anthropicBaseUrl : r.fake.openaiBaseUrl);
      assert.equal(svc.message_format, format);
      assert.ok(reg.models.some((m: any) => m.service === format));
      assert.equal(reg.stats.model_count, reg.models.length);
      assert.doesNotMatch(JSON.stringify(items), /sk-test|0123456789abcdef/);
    });

    test("arbor's tree_render shows cone messages through cone's handle resolver", async () => {
      await r.one('cone.create', { name: `${format}-render`, model_id: MODEL[format] });
      r.fake.enqueue({ chunks: ['Rendered', ' answer'] });
      await r.chat(`${format}-render`, 'show me');
      const tree = await r.tree(`${format}-render`);
      const { render } = await r.one('arbor.tree_render', { tree_id: tree.id });
      assert.equal(render, `└── \n    └── [user:user] show me\n        └── [assistant:${format}-render] Rendered answer\n`);
    });
  });
}

/** The failures a provider can cause, as a chat sees them. */
const FAILURES: { name: string; reply: FakeReply; code: string; message: RegExp; partial: string; retryAfterMs?: number }[] = [
  {
    name: '429 with retry-after',
    reply: { status: 429, headers: { 'retry-after': '12' }, errorMessage: 'rate limited' },
    code: 'cone.provider_rate_limited',
    message: /^Failed to start LLM stream: \w+ answered HTTP 429 .*retry after 12 s$/,
    partial: '',
    retryAfterMs: 12_000,
  },
  {
    name: 'HTTP 500',
    reply: { status: 500, errorMessage: 'boom' },
    code: 'cone.provider_unavailable',
    message: /^Failed to start LLM stream: \w+ answered HTTP 500 .*boom/,
    partial: '',
  },
  {
    name: 'HTTP 400',
    reply: { status: 400, errorMessage: 'prompt is too long' },
    code: 'cone.provider_bad_request',
    message: /prompt is too long/,
    partial: '',
  },
  {
    name: 'malformed SSE',
    reply: { chunks: ['one ', 'two'], then: 'bad_line', after: 1 },
    code: 'cone.provider_malformed',
    message: /^Stream error: .*not server-sent events/,
    partial: 'one ',
  },
  {
    name: 'stream cut mid-answer',
    reply: { chunks: ['half ', 'an ', 'answer'], then: 'cut', after: 2 },
    code: 'cone.provider_stream_cut',
    message: /^Stream error: .*closed the connection in the middle of the answer/,
    partial: 'half an ',
  },
  {
    name: 'provider error event',
    reply: { chunks: ['so ', 'far'], then: 'error_event', after: 1 },
    code: 'cone.provider_unavailable',
    message: /^LLM error: .*mid-stream/,
    partial: 'so ',
  },
  {
    name: 'timeout mid-answer',
    reply: { chunks: ['slow ', 'answer'], then: 'hang', after: 1 },
    code: 'cone.provider_timeout',
    message: /^Stream error: .*sent nothing for 200 ms/,
    partial: 'slow ',
  },
];

for (const format of ['anthropic', 'openai'] as const) {
  describe(`cone chat failures over the ${format} API`, () => {
    let r: Rig;
    before(async () => {
      r = await rig({ idleTimeoutMs: 200 });
    });
    after(() => r.close());

    for (const f of FAILURES) {
      test(`${f.name}: an error event and an error item with code ${f.code}; the stored conversation is intact`, async () => {
        const name = `${format}-${f.name.replace(/\W+/g, '-')}`;
        const created = await r.one('cone.create', { name, model_id: MODEL[format] });
        r.fake.enqueue({ chunks: ['kept'] });
        const good = events(await r.chat(name, 'remember this'));
        const headBefore = (good.at(-1) as { new_head: { node_id: string } }).new_head;

        r.fake.enqueue(f.reply);
        const items = await r.chat(name, 'this one fails');
        const evs = events(items);
        assert.equal(evs[0]!.type, 'chat_start');
        assert.equal(answerOf(items), f.partial, 'chunks before the failure were streamed');
        const event = evs.at(-1)!;
        assert.equal(event.type, 'error');
        if (event.type !== 'error') throw new Error('unreachable');
        assert.equal(event.code, f.code);
        assert.match(event.message, f.message);
        assert.equal(event.retry_after_ms, f.retryAfterMs);
        const item = errorOf(items)!;
        assert.deepEqual([item.code, item.message], [f.code, event.message]);
        assert.equal(items.at(-1)!.type, 'done');
        assert.doesNotMatch(JSON.stringify(items), /sk-test/);

        // Nothing lost: the head stays on the last good answer; the failed prompt is kept
        // as a user node beside it (the reference's behaviour), with no assistant node.
        const { cone } = await r.one('cone.get', { identifier: byName(name) });
        assert.equal(cone.head.node_id, headBefore.node_id);
        const tree = await r.tree(name);
        const userNode = tree.nodes[(evs[0] as { user_position: { node_id: string } }).user_position.node_id]!;
        assert.equal(userNode.parent, headBefore.node_id);
        assert.deepEqual(userNode.children, [], 'no half-written assistant node');
        assert.deepEqual(
          r.cone.storage.messages(created.cone_id).map((m) => [m.role, m.content]),
          [
            ['user', 'remember this'],
            ['assistant', 'kept'],
            ['user', 'this one fails'],
          ],
        );
        // And the conversation goes on from the last good answer.
        r.fake.enqueue({ chunks: ['recovered'] });
        assert.equal(answerOf(await r.chat(name, 'retry')), 'recovered');
        assert.deepEqual(
          (r.fake.last!.body.messages as { content: string }[]).map((m) => m.content),
          ['remember this', 'kept', 'retry'],
        );
      });
    }

    test('a cone deleted mid-answer: the answer is not stored, cone.storage_error, the tree keeps the user turn', async () => {
      const name = `${format}-deleted-mid`;
      const created = await r.one('cone.create', { name, model_id: MODEL[format] });
      let open!: () => void;
      r.fake.enqueue({ chunks: ['half ', 'way'], after: 1, gate: new Promise<void>((resolve) => (open = resolve)) });
      const items: StreamItem[] = [];
      for await (const item of r.hub.call('cone.chat', { identifier: byName(name), prompt: 'hello?' })) {
        items.push(item);
        if (item.type === 'data' && (item.content as ChatEvent).type === 'chat_content' && answerOf(items) === 'half ') {
          await r.one('cone.delete', { identifier: { type: 'by_id', id: created.cone_id } });
          open();
        }
      }
      const err = errorOf(items)!;
      assert.equal(err.code, 'cone.storage_error');
      assert.match(err.message, /^Failed to store assistant message: FOREIGN KEY constraint failed/);
      assert.equal(answerOf(items), 'half way');
      const tree = (await r.one('arbor.tree_get', { tree_id: created.head.tree_id })).tree as Tree;
      const [userNode] = childrenOf(tree, tree.root);
      assert.deepEqual(userNode!.children, [], 'the failed transaction left no assistant node');
    });

    test('a cone handle on the path whose message is gone: Failed to resolve context, nothing written', async () => {
      const name = `${format}-dangling`;
      const created = await r.one('cone.create', { name, model_id: MODEL[format] });
      const missing = '00000000-0000-4000-8000-000000000000';
      const node = await r.one('arbor.node_create_external', {
        tree_id: created.head.tree_id,
        parent: created.head.node_id,
        handle: {
          plugin_id: '11429815-0a5e-5fcc-baf2-842ab3666e77',
          version: '1.0.0',
          method: 'chat',
          meta: [`msg-${missing}`, 'user', 'user'],
        },
      });
      await r.one('cone.set_head', { identifier: byName(name), node_id: node.node_id });
      const before = r.fake.requests.length;
      const items = await r.chat(name, 'hi');
      assert.deepEqual(events(items), [
        { type: 'error', message: `Failed to resolve context: Cone not found: message:${missing}`, code: 'cone.not_found' },
      ]);
      assert.equal(r.fake.requests.length, before, 'the provider was not called');
      const tree = await r.tree(name);
      assert.deepEqual(tree.nodes[node.node_id]!.children, [], 'no user turn was stored');
    });

    test('chat on an unknown cone: the reference error event, then cone.not_found', async () => {
      const items = await r.chat('nobody-here', 'hi');
      assert.deepEqual(events(items), [
        { type: 'error', message: 'Failed to get cone: Cone not found: nobody-here', code: 'cone.not_found' },
      ]);
      assert.equal(errorOf(items)!.code, 'cone.not_found');
    });

    test('a missing API key is cone.provider_not_configured, and no request is made', async () => {
      const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
      const cone = new Cone({ arbor, llm: new LlmRegistry({ env: {} }) });
      const hub = new DynamicHub('plexus').register(arbor, cone);
      try {
        const before = r.fake.requests.length;
        await collect(hub.call('cone.create', { name: 'nokey', model_id: MODEL[format] }));
        const items = await collect(hub.call('cone.chat', { identifier: byName('nokey'), prompt: 'hi' }));
        const err = errorOf(items)!;
        assert.equal(err.code, 'cone.provider_not_configured');
        assert.match(err.message, new RegExp(`set ${format === 'anthropic' ? 'ANTHROPIC' : 'OPENAI'}_API_KEY`));
        assert.equal(r.fake.requests.length, before);
      } finally {
        cone.close();
        arbor.close();
      }
    });
  });
}

describe('cone over the Gemini API', () => {
  test('a two-turn chat sends the context as user/model turns with the defaults, and stores the usage', async () => {
    const r = await rig();
    try {
      await r.one('cone.create', { name: 'gem', model_id: MODEL.gemini, system_prompt: 'Be brief.' });
      r.fake.enqueue({ chunks: ['Hello', ' Ada'], usage: { input: 7, output: 2 } }, { chunks: ['Ada.'], usage: { input: 12, output: 1 } });
      const first = await r.chat('gem', 'I am Ada');
      assert.equal(errorOf(first), undefined);
      assert.equal(answerOf(first), 'Hello Ada');
      const complete = events(first).at(-1)!;
      assert.deepEqual(complete.type === 'chat_complete' && complete.usage, { input_tokens: 7, output_tokens: 2, total_tokens: 9 });
      assert.equal(answerOf(await r.chat('gem', 'Who am I?')), 'Ada.');
      const sent = r.fake.last!;
      assert.equal(sent.path, '/v1beta/models/gemini-2.0-flash:streamGenerateContent');
      assert.deepEqual(sent.body, {
        contents: [
          { role: 'user', parts: [{ text: 'I am Ada' }] },
          { role: 'model', parts: [{ text: 'Hello Ada' }] },
          { role: 'user', parts: [{ text: 'Who am I?' }] },
        ],
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        generationConfig: { temperature: 1, maxOutputTokens: 4096 },
      });
    } finally {
      await r.close();
    }
  });
});

for (const format of ['anthropic', 'openai', 'gemini'] as const) {
  describe(`cone chat cancellation over the ${format} API`, () => {
    test('cancelling a chat aborts the HTTP request and leaves no assistant node; the head stays', async () => {
      // Long provider timeouts: only the cancel can close the connection here.
      const r = await rig({ idleTimeoutMs: 60_000 });
      try {
        const name = `${format}-cancel`;
        await r.one('cone.create', { name, model_id: MODEL[format] });
        r.fake.enqueue({ chunks: ['never ', 'finished ', 'answer'], then: 'hang', after: 2 });
        const controller = new AbortController();
        const seen: ChatEvent[] = [];
        let userNodeId = '';
        for await (const item of r.hub.call('cone.chat', { identifier: byName(name), prompt: 'go' }, { signal: controller.signal })) {
          if (item.type !== 'data') continue;
          const e = item.content as ChatEvent;
          seen.push(e);
          if (e.type === 'chat_start') userNodeId = e.user_position.node_id;
          if (seen.filter((x) => x.type === 'chat_content').length === 2) controller.abort();
        }
        const sent = r.fake.last!;
        assert.ok(await settledWithin(sent), 'the provider connection is still open');
        assert.equal(sent.clientClosed, true, 'the provider saw the connection close');
        assert.equal(sent.chunksSent, 2);
        const tree = await r.tree(name);
        assert.deepEqual(tree.nodes[userNodeId]!.children, []);
        const { cone } = await r.one('cone.get', { identifier: byName(name) });
        assert.equal(cone.head.node_id, tree.root);
        await eventually(() => r.cone.storage.messages(cone.id).length === 1);
        assert.deepEqual(
          r.cone.storage.messages(cone.id).map((m) => m.role),
          ['user'],
        );
      } finally {
        await r.close();
      }
    });
  });
}
