/**
 * #25 items 1–3: the two wire forms side by side. One hub, one client reading the
 * older form and one the turn form (`?wire=turns`), the same calls; golden frames of
 * the turn form written from wire-generations.md; error details on error items,
 * failed terminals and MCP results; questions in the reference's tagged forms; and
 * the subscribe answer leaving in its own write in the turn form.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import WebSocket from 'ws';
import { DynamicHub, PlexusError, defineActivation, mountRemote, type CallContext, type JsonSchema } from '../../src/index.js';
import { PlexusClient } from '../../src/client/plexus-client.js';
import { serveMcpHttp, type McpHttpServer } from '../../src/mcp/http.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { Health, Solar } from '../../activations/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { startHub } from '../support/hub-process.js';
import { RawClient } from '../support/raw-client.js';
import { REPO_ROOT } from '../support/repo.js';

const GOLDEN = join(REPO_ROOT, 'test', 'golden', 'wire-turns');
const MISSING_TREE = '00000000-0000-4000-8000-000000000000';

/** The reference's echo as the examples use it: `echo` streams, `ping` answers once. */
function echo() {
  return defineActivation({
    namespace: 'echo',
    methods: {
      echo: {
        streaming: true,
        params: {
          type: 'object',
          properties: { message: { type: 'string' }, count: { type: 'integer' } },
          required: ['message'],
          additionalProperties: false,
        },
        handler: async function* ({ message, count }) {
          for (let seq = 1; seq <= ((count as number | undefined) ?? 1); seq++) yield { message, seq };
        },
      },
      ping: { handler: () => ({ type: 'pong' }) },
      nothing: { handler: () => null },
      gone: {
        handler: () => {
          throw new PlexusError('echo.gone', 'Gone: x', false, { id: 'x' });
        },
      },
    },
  });
}

/** Asks one question with the schema it is given and yields the answer. */
function asker() {
  return defineActivation({
    namespace: 'asker',
    methods: {
      ask: {
        bidirectional: true,
        streaming: true,
        params: { type: 'object', properties: { schema: { type: 'object' } }, additionalProperties: false },
        handler: async function* ({ schema }, ctx: CallContext) {
          yield { answer: await ctx.request({ prompt: 'Well?', ...(schema ? { schema: schema as JsonSchema } : {}) }) };
        },
      },
    },
  });
}

const hub = new DynamicHub().register(echo(), asker(), new Health(), new Solar(), new Arbor({ database: ':memory:', sweepIntervalMs: 0 }));
let server: PlexusServer;

before(async () => {
  await hub.ready();
  server = await serveWebSocket(hub, { port: 0 });
});
after(() => server.close({ graceMs: 0 }));

/** The raw frames of subscription `sub` to its end, with metadata as `M` (it holds a timestamp and the hash). */
async function frames(c: RawClient, sub: number): Promise<string[]> {
  await c.itemsToEnd(sub);
  return c.items(sub).map((item) => JSON.stringify(item).replace(/"metadata":\{[^{}]*(\{[^{}]*\}[^{}]*)*\}/, '"metadata":M'));
}

function golden(name: string): string[] {
  return readFileSync(join(GOLDEN, `${name}.jsonl`), 'utf8')
    .trim()
    .split('\n');
}

describe('wire forms: one hub, an older-form client and a turn-form client, the same calls', () => {
  let legacy: RawClient;
  let turns: RawClient;
  before(async () => {
    legacy = await RawClient.open(server.url);
    turns = await RawClient.open(`${server.url}/?wire=turns`);
  });
  after(() => {
    legacy.close();
    turns.close();
  });

  it('turn form: the golden frames of wire-generations.md (streaming, unary, a failed turn)', async () => {
    assert.deepEqual(await frames(turns, await turns.call('echo.echo', { message: 'hi', count: 2 })), golden('echo.echo'));
    assert.deepEqual(await frames(turns, await turns.call('echo.ping', {})), golden('echo.ping'));
    assert.deepEqual(await frames(turns, await turns.call('echo.echo', {})), golden('echo.echo-invalid-params'));
  });

  it('older form, same calls: data items under the method path, an error item, no .update/.terminal', async () => {
    const echoed = await frames(legacy, await legacy.call('echo.echo', { message: 'hi', count: 2 }));
    assert.deepEqual(echoed, [
      '{"type":"data","metadata":M,"content_type":"echo.echo","content":{"message":"hi","seq":1}}',
      '{"type":"data","metadata":M,"content_type":"echo.echo","content":{"message":"hi","seq":2}}',
      '{"type":"done","metadata":M}',
    ]);
    assert.deepEqual(await frames(legacy, await legacy.call('echo.ping', {})), [
      '{"type":"data","metadata":M,"content_type":"echo.ping","content":{"type":"pong"}}',
      '{"type":"done","metadata":M}',
    ]);
    const bad = await legacy.itemsToEnd(await legacy.call('echo.echo', {}));
    assert.deepEqual(
      bad.map((i) => [i.type, i.code]),
      [
        ['error', '-32602'],
        ['done', undefined],
      ],
    );
  });

  it('a domain failure: an error item with code and details (older), a failed terminal with both (turns)', async () => {
    const [error] = await legacy.itemsToEnd(await legacy.call('echo.gone', {}));
    assert.equal(error.type, 'error');
    assert.equal(error.code, 'echo.gone');
    assert.deepEqual(error.details, { id: 'x' });
    const [terminal, done] = await turns.itemsToEnd(await turns.call('echo.gone', {}));
    assert.equal(terminal.content_type, 'echo.gone.terminal');
    assert.deepEqual(terminal.content, {
      stop: {
        kind: 'failed',
        error: { code: 'echo.gone', message: 'Gone: x', details: { id: 'x' } },
        detail: { code: 'echo.gone', message: 'Gone: x' },
      },
      value: null,
    });
    assert.equal(done.type, 'done');
  });

  it("arbor's not-found: code arbor.tree_not_found and the id in details, in both forms", async () => {
    const [error] = await legacy.itemsToEnd(await legacy.call('arbor.tree_get', { tree_id: MISSING_TREE }));
    assert.equal(error.code, 'arbor.tree_not_found');
    assert.deepEqual(error.details, { kind: 'tree_not_found', tree_id: MISSING_TREE });
    const [terminal] = await turns.itemsToEnd(await turns.call('arbor.tree_get', { tree_id: MISSING_TREE }));
    assert.equal(terminal.content.stop.error.code, 'arbor.tree_not_found');
    assert.deepEqual(terminal.content.stop.error.details, { kind: 'tree_not_found', tree_id: MISSING_TREE });
  });

  it('health, solar and the root keep the older form for a turn-form client too, as in the reference', async () => {
    for (const [path, type] of [
      ['health.check', 'health.check'],
      ['solar.earth.luna.info', 'solar.earth.luna.info'],
      ['plexus.hash', 'plexus.hash'],
      ['echo.schema', 'echo.schema'],
    ] as const) {
      const items = await turns.itemsToEnd(await turns.call(path, {}));
      assert.deepEqual(
        items.map((i) => [i.type, i.content_type]),
        [
          ['data', type],
          ['done', undefined],
        ],
        path,
      );
    }
  });

  it('pre-flight failures stay error items in the turn form (unknown activation, unknown method)', async () => {
    for (const [path, message] of [
      ['nope.x', 'Activation not found: nope'],
      ['echo.nope', 'Method not found: echo.nope'],
    ]) {
      const [error, done] = await turns.itemsToEnd(await turns.call(path!, {}));
      assert.deepEqual([error.type, error.code, error.message, done.type], ['error', '-32601', message, 'done']);
    }
  });

  it('an unknown ?wire= is refused at the upgrade with a 400 that says which forms exist', async () => {
    const ws = new WebSocket(`${server.url}/?wire=m3`);
    ws.on('error', () => {}); // the refused upgrade, expected
    const [status, body] = await new Promise<[number, string]>((resolve) =>
      ws.on('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve([res.statusCode ?? 0, text]));
      }),
    );
    assert.equal(status, 400);
    assert.match(JSON.parse(body).error.message, /\?wire= takes legacy or turns/);
    ws.terminate();
  });
});

describe('wire forms: the client runtime reads both the same way', () => {
  it('collect/result give the same values and the same errors (code, details) in either form', async () => {
    const older = new PlexusClient({ url: server.url });
    const newer = new PlexusClient({ url: server.url, wire: 'turns' });
    try {
      for (const client of [older, newer]) {
        assert.deepEqual(
          await client.collect('echo.echo', { message: 'a', count: 3 }),
          [1, 2, 3].map((seq) => ({ message: 'a', seq })),
        );
        assert.deepEqual(await client.result('echo.ping'), { type: 'pong' });
        assert.equal(await client.result('echo.nothing'), null, 'a unary null result is a result, not a missing one');
        const invalid = await client.result('echo.echo', {}).catch((e: unknown) => e);
        assert.ok(invalid instanceof PlexusError);
        assert.equal(invalid.code, -32602, "plexus.invalid_params reads back as the older form's code");
        assert.deepEqual(await client.result('health.check').then((h) => Object.keys(h as object).sort()), [
          'started_at',
          'status',
          'uptime_seconds',
        ]);
        const err = await client.result('arbor.tree_get', { tree_id: MISSING_TREE }).catch((e: unknown) => e);
        assert.ok(err instanceof PlexusError);
        assert.equal(err.code, 'arbor.tree_not_found');
        assert.deepEqual(err.details, { kind: 'tree_not_found', tree_id: MISSING_TREE });
      }
      // The forms differ only on the wire: a turn-form call really was projected.
      const items = [];
      for await (const item of newer.call('echo.ping')) items.push(item);
      assert.equal((items[0] as { content_type?: string }).content_type, 'echo.ping.terminal');
    } finally {
      older.close();
      newer.close();
    }
  });
});

describe("questions in the reference's tagged forms (StandardRequest / StandardResponse)", () => {
  /** Calls asker.ask with `schema`, answers its request item with `answer`, returns [requestData, items]. */
  async function ask(c: RawClient, schema: unknown, answer: unknown): Promise<[unknown, any[], any]> {
    const sub = await c.call('asker.ask', schema === undefined ? {} : { schema });
    const request = await c.item(sub, 'request');
    const reply = await c.request('plexus.respond', { request_id: request.requestId, response_data: answer });
    return [request.requestData, await c.itemsToEnd(sub), reply];
  }

  it('turn form: boolean → confirm, enum → select, string → prompt, anything else → custom; tagged answers arrive as values', async () => {
    const c = await RawClient.open(`${server.url}/?wire=turns`);
    try {
      const answered = (items: any[]) => items.find((i) => i.type === 'data' && 'answer' in (i.content ?? {}))?.content.answer;
      let [data, items] = await ask(c, { type: 'boolean', default: false }, { type: 'confirmed', value: true });
      assert.deepEqual(data, { type: 'confirm', message: 'Well?', default: false });
      assert.equal(answered(items), true);

      [data, items] = await ask(c, { type: 'string', enum: ['red', 'blue'] }, { type: 'selected', values: ['blue'] });
      assert.deepEqual(data, {
        type: 'select',
        message: 'Well?',
        options: [
          { value: 'red', label: 'red' },
          { value: 'blue', label: 'blue' },
        ],
        multi_select: false,
      });
      assert.equal(answered(items), 'blue');

      [data, items] = await ask(c, { type: 'array', items: { enum: ['a', 'b', 'c'] } }, { type: 'selected', values: ['a', 'c'] });
      assert.equal((data as { multi_select: boolean }).multi_select, true);
      assert.deepEqual(answered(items), ['a', 'c']);

      [data, items] = await ask(c, { type: 'string' }, { type: 'text', value: 'typed' });
      assert.deepEqual(data, { type: 'prompt', message: 'Well?' });
      assert.equal(answered(items), 'typed');

      const shape = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
      [data, items] = await ask(c, shape, { type: 'custom', data: { n: 3 } });
      assert.deepEqual(data, { type: 'custom', data: { prompt: 'Well?', schema: shape } });
      assert.deepEqual(answered(items), { n: 3 });

      // Our bare-value answer is taken in this form too.
      [, items] = await ask(c, { type: 'boolean' }, false);
      assert.equal(answered(items), false);

      // A tagged answer the schema refuses is refused, saying why; the method's turn fails.
      const [, refused, reply] = await ask(c, { type: 'boolean' }, { type: 'text', value: 'yes' });
      assert.equal(reply.error.code, -32602);
      assert.match(reply.error.message, /^Invalid response: /);
      assert.equal(refused.at(-2).content.stop.kind, 'failed');
    } finally {
      c.close();
    }
  });

  it('older form: still asks {prompt, schema}, and takes a tagged answer as well as the bare value', async () => {
    const c = await RawClient.open(server.url);
    try {
      const answered = (items: any[]) => items.find((i) => i.type === 'data' && 'answer' in (i.content ?? {}))?.content.answer;
      let [data, items] = await ask(c, { type: 'boolean' }, { type: 'confirmed', value: true });
      assert.deepEqual(data, { prompt: 'Well?', schema: { type: 'boolean' } });
      assert.equal(answered(items), true, 'a reference client\'s answer is no longer refused ("answer must be boolean")');
      [, items] = await ask(c, { type: 'boolean' }, true);
      assert.equal(answered(items), true);
      // The bare value wins when it fits: an object schema that itself has a `type` field.
      const tagged = { type: 'object', properties: { type: { type: 'string' }, value: {} }, required: ['type'] };
      [, items] = await ask(c, tagged, { type: 'text', value: 1 });
      assert.deepEqual(answered(items), { type: 'text', value: 1 });
      // Declining is the same in both forms.
      [, items] = await ask(c, { type: 'boolean' }, { type: 'cancelled' });
      assert.equal(items.find((i) => i.type === 'error')?.code, '-32006');
    } finally {
      c.close();
    }
  });
});

describe('the subscribe answer and the first item (a client that registers on the answer)', () => {
  /**
   * Like the reference's generated client: a subscription is registered only once the
   * code handling the subscribe answer has run (a promise continuation), so an item
   * read in the same chunk as the answer finds no subscription and is lost.
   */
  async function lostItems(url: string, calls: number): Promise<number> {
    const ws = new WebSocket(url);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const subs = new Set<number>();
    const pending = new Map<number, (sub: number) => void>();
    let lost = 0;
    let ends = 0;
    let wake = (): void => {};
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if ('id' in msg) {
        const settle = pending.get(msg.id)!;
        void Promise.resolve(msg.result).then(settle);
      } else if (!subs.has(msg.params.subscription)) lost++;
      else if (msg.params.result.type === 'done') {
        ends++;
        wake();
      }
    });
    for (let id = 1; id <= calls; id++) {
      pending.set(id, (sub) => subs.add(sub));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'plexus.call', params: { method: 'echo.ping' } }));
    }
    const until = Date.now() + 10_000;
    while (ends + lost < calls && Date.now() < until) await new Promise<void>((r) => (wake = r) && setTimeout(r, 50));
    ws.close();
    return lost;
  }

  it('turn form: the answer leaves in a write of its own, so no item arrives before its subscription is known', async () => {
    assert.equal(await lostItems(`${server.url}/?wire=turns`, 50), 0);
  });
});

describe('MCP results carry the code and details (official SDK client)', () => {
  let mcp: McpHttpServer;
  let client: Client;
  before(async () => {
    mcp = await serveMcpHttp(hub, { port: 0 });
    client = new Client({ name: 'wire-forms-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url)));
  });
  after(async () => {
    await client.close();
    await mcp.close();
  });

  it('arbor.tree_get of a missing tree: isError, structuredContent.error {code, message, details}, and _meta', async () => {
    const r = await client.callTool({ name: 'arbor.tree_get', arguments: { tree_id: MISSING_TREE } });
    assert.equal(r.isError, true);
    const details = { kind: 'tree_not_found', tree_id: MISSING_TREE };
    assert.deepEqual(r.structuredContent, { error: { code: 'arbor.tree_not_found', message: `Tree not found: ${MISSING_TREE}`, details } });
    assert.deepEqual(r._meta?.['plexus-hub/error'], { code: 'arbor.tree_not_found', details });
    assert.equal((r.content as { text: string }[])[0]!.text, `Tree not found: ${MISSING_TREE}`);
  });

  it('a numeric code travels as a number; a successful result is unchanged', async () => {
    const bad = await client.callTool({ name: 'plexus.call', arguments: { method: 'nope.x' } });
    assert.deepEqual(bad.structuredContent, { error: { code: -32601, message: 'Activation not found: nope' } });
    const ok = await client.callTool({ name: 'echo.ping', arguments: {} });
    assert.deepEqual(ok.structuredContent, { result: { type: 'pong' } });
  });
});

describe('details cross a mount', () => {
  it("a mounted hub's error item keeps its code and details at the mounting hub", async () => {
    const front = new DynamicHub('plexus');
    const mount = mountRemote(front, 'far', server.url, { watchMs: 0 });
    try {
      await front.ready();
      const items = [];
      for await (const item of front.call('far.echo.gone', {})) items.push(item);
      const error = items.find((i) => i.type === 'error') as { code?: string; details?: unknown } | undefined;
      assert.equal(error?.code, 'echo.gone');
      assert.deepEqual(error?.details, { id: 'x' });
    } finally {
      front.unregister(mount.namespace);
    }
  });
});

describe('hub serve --wire', () => {
  it('--wire turns is the default of connections that do not ask; ?wire=legacy still gets the older form', async () => {
    const served = await startHub({ args: ['--wire', 'turns'] });
    try {
      const plain = await RawClient.open(served.url);
      const items = await plain.itemsToEnd(await plain.call('echo.once', { message: 'm' }));
      assert.deepEqual(
        items.map((i) => [i.type, i.content_type]),
        [
          ['data', 'echo.once.terminal'],
          ['done', undefined],
        ],
      );
      assert.deepEqual(items[0].content, { stop: { kind: 'complete' }, value: { message: 'm', seq: 1 } });
      plain.close();
      const older = await RawClient.open(`${served.url}/?wire=legacy`);
      const [data] = await older.itemsToEnd(await older.call('echo.once', { message: 'm' }));
      assert.equal(data.content_type, 'echo.once');
      older.close();
    } finally {
      served.child.kill('SIGKILL');
    }
  });
});
