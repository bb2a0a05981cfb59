// cone.chat through the real transports: WebSocket (PlexusClient, cancel by
// unsubscribe) and the MCP bridge (official SDK client, streamed progress).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { DynamicHub, PlexusClient, serveWebSocket, type PlexusServer } from '../../src/index.js';
import { serveMcpHttp, type McpHttpServer } from '../../src/mcp/http.js';
import { Arbor, type Tree } from '../../activations/arbor/index.js';
import { Cone, LlmRegistry, type ChatEvent } from '../../activations/cone/index.js';
import { FakeLlmServer, settledWithin } from '../support/fake-llm-server.js';
import { eventually } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';

const KEY = 'sk-test-transport-0123456789';

describe('cone over WebSocket and MCP', () => {
  let fake: FakeLlmServer;
  let arbor: Arbor;
  let cone: Cone;
  let hub: DynamicHub;
  let ws: PlexusServer;
  let mcp: McpHttpServer;
  let client: PlexusClient;
  let mcpClient: Client;

  before(async () => {
    fake = await FakeLlmServer.start({ apiKey: KEY });
    arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    cone = new Cone({
      arbor,
      llm: new LlmRegistry({
        env: {
          OPENAI_BASE_URL: fake.openaiBaseUrl,
          OPENAI_API_KEY: KEY,
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
          ANTHROPIC_API_KEY: KEY,
        },
      }),
    });
    hub = new DynamicHub('plexus').register(arbor, cone);
    ws = await serveWebSocket(hub, { port: 0 });
    client = new PlexusClient({ url: ws.url });
    mcp = await serveMcpHttp(hub, { port: 0 });
    mcpClient = new Client({ name: 'cone-test', version: '1.0.0' });
    await mcpClient.connect(new StreamableHTTPClientTransport(new URL(mcp.url)));
    await client.result('cone.create', { name: 'ws', model_id: 'gpt-4o-mini' });
    await client.result('cone.create', { name: 'mcp', model_id: 'claude-3-haiku-20240307', system_prompt: 'Answer briefly.' });
  });

  after(async () => {
    await mcpClient.close();
    client.close();
    await mcp.close();
    await ws.close({ graceMs: 0 });
    cone.close();
    arbor.close();
    await fake.close();
  });

  test('WebSocket: each chunk reaches the client before the provider sends the next', async () => {
    // The provider holds the rest of the answer back until the client has seen the first chunk:
    // a hub that buffered the answer would never deliver it, and the call would hang.
    let release!: () => void;
    fake.enqueue({ chunks: ['over ', 'the ', 'wire'], after: 1, gate: new Promise<void>((r) => (release = r)) });
    const seen: ChatEvent[] = [];
    const hung = setTimeout(() => release(), 5_000);
    let releasedByClient = false;
    for await (const item of client.call('cone.chat', { identifier: { type: 'by_name', name: 'ws' }, prompt: 'stream please' })) {
      assert.notEqual(item.type, 'error');
      if (item.type !== 'data') continue;
      const e = item.content as ChatEvent;
      seen.push(e);
      if (e.type === 'chat_content' && !releasedByClient) {
        releasedByClient = true;
        assert.equal(fake.last!.chunksSent, 1, 'only the first chunk has been sent');
        release();
      }
    }
    clearTimeout(hung);
    assert.ok(releasedByClient);
    assert.deepEqual(
      seen.map((e) => (e.type === 'chat_content' ? e.content : e.type)),
      ['chat_start', 'over ', 'the ', 'wire', 'chat_complete'],
    );
  });

  test('WebSocket: breaking the loop unsubscribes, the provider connection closes, arbor stays consistent', async () => {
    fake.enqueue({ chunks: ['one ', 'two ', 'three'], then: 'hang', after: 1 });
    let userNode = '';
    for await (const item of client.call('cone.chat', { identifier: { type: 'by_name', name: 'ws' }, prompt: 'cancel me' })) {
      if (item.type !== 'data') continue;
      const e = item.content as ChatEvent;
      if (e.type === 'chat_start') userNode = e.user_position.node_id;
      if (e.type === 'chat_content') break;
    }
    const sent = fake.last!;
    assert.ok(await settledWithin(sent), 'the provider connection is still open');
    assert.equal(sent.clientClosed, true);
    const { cone: c } = await client.result<any>('cone.get', { identifier: { type: 'by_name', name: 'ws' } });
    const { tree } = await client.result<{ tree: Tree }>('arbor.tree_get', { tree_id: c.head.tree_id });
    assert.deepEqual(tree.nodes[userNode]!.children, [], 'no assistant node for the cancelled turn');
    assert.notEqual(c.head.node_id, userNode);
    await eventually(() => cone.storage.messages(c.id).at(-1)?.content === 'cancel me');
  });

  test('turn form: an answer cut by the token limit ends `limited`, a declined one `refused`; the older form stores and says nothing more', async () => {
    const turns = await RawClient.open(`${ws.url}/?wire=turns`);
    const legacy = await RawClient.open(ws.url);
    try {
      const terminal = async (c: RawClient, finish: string, model: string) => {
        fake.enqueue({ chunks: ['half an '], finish });
        const items = await c.itemsToEnd(await c.call('cone.chat', { identifier: model === 'gpt' ? 'ws' : 'mcp', prompt: 'go' }));
        return items.filter((i) => String(i.content_type).endsWith('.terminal')).map((i) => i.content.stop);
      };
      assert.deepEqual(await terminal(turns, 'length', 'gpt'), [
        { kind: 'limited', detail: { code: 'acp:max_tokens', message: 'openai stopped: length', data: { finish_reason: 'length' } } },
      ]);
      assert.deepEqual(await terminal(turns, 'refusal', 'claude'), [
        { kind: 'refused', detail: { code: 'acp:refusal', message: 'anthropic stopped: refusal', data: { finish_reason: 'refusal' } } },
      ]);
      assert.deepEqual(await terminal(turns, 'stop', 'gpt'), [{ kind: 'complete' }]);
      fake.enqueue({ chunks: ['half an '], finish: 'length' });
      const older = await legacy.itemsToEnd(await legacy.call('cone.chat', { identifier: 'ws', prompt: 'go' }));
      assert.deepEqual(
        older.map((i) => i.content?.type ?? i.type),
        ['chat_start', 'chat_content', 'chat_complete', 'done'],
      );
    } finally {
      turns.close();
      legacy.close();
    }
  });

  test('MCP: cone.chat is a tool; chunks arrive as progress, the result carries the answer', async () => {
    fake.enqueue({ chunks: ['Tools ', 'stream ', 'too.'], usage: { input: 9, output: 3 } });
    const progress: Progress[] = [];
    const result = await mcpClient.callTool(
      { name: 'cone.chat', arguments: { identifier: { type: 'by_name', name: 'mcp' }, prompt: 'via MCP' } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    );
    assert.equal(result.isError, undefined);
    const items = (result.structuredContent as { items: ChatEvent[] }).items;
    assert.deepEqual(
      items.map((e) => (e.type === 'chat_content' ? e.content : e.type)),
      ['chat_start', 'Tools ', 'stream ', 'too.', 'chat_complete'],
    );
    const complete = items.at(-1)!;
    assert.deepEqual(complete.type === 'chat_complete' && complete.usage, { input_tokens: 9, output_tokens: 3, total_tokens: 12 });
    // Every item was also streamed as a progress notification while the call ran.
    const streamed = progress.map((p) => JSON.parse(p.message!) as ChatEvent);
    assert.ok(streamed.filter((e) => e.type === 'chat_content').length >= 2, `progress: ${JSON.stringify(streamed)}`);
    assert.equal(streamed[0]!.type, 'chat_start');
    assert.equal(fake.last!.body.system, 'Answer briefly.');
  });

  test('MCP: a provider failure makes the tool result an error with the code and message', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after': '3' }, errorMessage: 'too many' });
    const result = await mcpClient.callTool({
      name: 'cone.chat',
      arguments: { identifier: { type: 'by_name', name: 'mcp' }, prompt: 'again' },
    });
    assert.equal(result.isError, true);
    const text = (result.content as { text: string }[]).map((c) => c.text).join('\n');
    assert.match(text, /Failed to start LLM stream: anthropic answered HTTP 429 \(rate_limit_error\): too many; retry after 3 s/);
    assert.doesNotMatch(text, /sk-test/);
  });

  test('MCP: cancelling the tool call aborts the provider request', async () => {
    fake.enqueue({ chunks: ['never ', 'done'], then: 'hang', after: 1 });
    const controller = new AbortController();
    const call = mcpClient.callTool(
      { name: 'cone.chat', arguments: { identifier: { type: 'by_name', name: 'mcp' }, prompt: 'cancel via MCP' } },
      undefined,
      {
        signal: controller.signal,
        onprogress: (p) => {
          if ((JSON.parse(p.message!) as ChatEvent).type === 'chat_content') controller.abort();
        },
      },
    );
    await assert.rejects(call);
    const sent = fake.last!;
    assert.ok(await settledWithin(sent), 'the provider connection is still open');
    assert.equal(sent.clientClosed, true);
  });
});
