import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  DynamicHub,
  PlexusClient,
  defineActivation,
  type CallContext,
  type JsonSchema,
  type MethodSchema,
  type StreamItem,
} from '../../src/index.js';
import { serveMcpHttp, type McpHttpServer } from '../../src/mcp/http.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { parseAnswer } from '../../cli/prompt.js';
import { Trash } from '../../examples/trash.js';
import { generate } from '../../codegen/index.js';
import { eventually, typecheckStrict } from '../support/helpers.js';
import { REPO_ROOT as root } from '../support/repo.js';
import { startHub } from '../support/hub-process.js';
import { RawClient } from '../support/raw-client.js';

const HUB = `${root}bin/hub.js`;
const run = promisify(execFile);
const tmp = join(root, 'test', '.tmp', `bidirectional-${process.pid}`);
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Method `finally` blocks that ran, by method. */
const finished = { ask: 0 };

/** A test activation: asks whatever the caller passes, and reports the answer. */
function asker() {
  return defineActivation({
    namespace: 'asker',
    methods: {
      ask: {
        description: 'Asks one question, yields the answer.',
        bidirectional: true,
        streaming: true,
        params: {
          type: 'object',
          properties: { prompt: { type: 'string' }, schema: { type: 'object' }, timeout_ms: { type: 'integer' } },
          required: ['prompt'],
          additionalProperties: false,
        },
        handler: async function* ({ prompt, schema, timeout_ms }, ctx: CallContext) {
          try {
            yield { step: 'before' };
            const answer = await ctx.request({
              prompt: prompt as string,
              ...(schema ? { schema: schema as JsonSchema } : {}),
              ...(timeout_ms ? { timeoutMs: timeout_ms as number } : {}),
            });
            yield { step: 'answered', answer };
          } finally {
            finished.ask++;
          }
        },
      },
      rude: {
        description: 'Asks without being declared bidirectional.',
        handler: (_params, ctx) => ctx.request({ prompt: 'may I?' }),
      },
    },
  });
}

const BOOL = { type: 'boolean' };

function newHub(): DynamicHub {
  return new DynamicHub().register(asker(), new Trash());
}

describe('bidirectional requests: schema and in-process calls', () => {
  it('a method declared bidirectional says so in its schema; the flag is not part of its hash (spec §5)', async () => {
    const hub = newHub();
    const empty = (await hub.schema('trash.empty')) as MethodSchema;
    assert.equal(empty.bidirectional, true);
    assert.equal(((await hub.schema('trash.list')) as MethodSchema).bidirectional, false);
    const twin = (bidirectional: boolean) =>
      new DynamicHub().register(
        defineActivation({ namespace: 'x', methods: { m: { description: 'd', bidirectional, handler: () => 1 } } }),
      );
    const [a, b] = [(await twin(true).schema('x.m')) as MethodSchema, (await twin(false).schema('x.m')) as MethodSchema];
    assert.deepEqual([a.bidirectional, b.bidirectional], [true, false]);
    assert.equal(a.hash, b.hash);
  });

  it('hub.call: the request item comes in order with the data; hub.respond delivers the validated answer', async () => {
    const hub = newHub();
    const seen: StreamItem[] = [];
    for await (const item of hub.call('asker.ask', { prompt: 'Proceed?', schema: BOOL })) {
      seen.push(item);
      if (item.type === 'request') {
        assert.equal(hub.pendingRequests, 1);
        hub.respond(item.requestId, true);
      }
    }
    assert.deepEqual(
      seen.map((i) => i.type),
      ['data', 'request', 'data', 'done'],
    );
    const request = seen[1] as Extract<StreamItem, { type: 'request' }>;
    assert.deepEqual(Object.keys(request).sort(), ['requestData', 'requestId', 'timeoutMs', 'type']);
    assert.match(request.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(request.requestData, { prompt: 'Proceed?', schema: BOOL });
    assert.equal(request.timeoutMs, 30_000);
    assert.deepEqual((seen[2] as { content: unknown }).content, { step: 'answered', answer: true });
    assert.equal(hub.pendingRequests, 0);
  });

  it('an answer the schema refuses fails both the respond and the method; a declined one fails the method', async () => {
    const hub = newHub();
    const errors: string[] = [];
    for await (const item of hub.call('asker.ask', { prompt: 'Proceed?', schema: BOOL })) {
      if (item.type === 'request')
        assert.throws(() => hub.respond(item.requestId, 'yes'), { code: -32602, message: 'Invalid response: answer must be boolean' });
      if (item.type === 'error') errors.push(`${item.code} ${item.message}`);
    }
    for await (const item of hub.call('asker.ask', { prompt: 'Proceed?' })) {
      if (item.type === 'request') hub.respond(item.requestId, { type: 'cancelled' });
      if (item.type === 'error') errors.push(`${item.code} ${item.message}`);
    }
    for await (const item of hub.call('asker.rude', {})) if (item.type === 'error') errors.push(`${item.code} ${item.message}`);
    assert.deepEqual(errors, [
      '-32602 Invalid response: answer must be boolean',
      '-32006 Request declined by the caller',
      '-32603 asker.rude asked its caller a question but is not declared bidirectional (@method({ bidirectional: true }))',
    ]);
    assert.throws(() => hub.respond('no-such-id', true), {
      code: -32602,
      message: 'Unknown request ID: no-such-id. The request may have timed out or been cancelled.',
    });
  });
});

describe('bidirectional requests over WebSocket (raw frames)', () => {
  let server: PlexusServer;
  let hub: DynamicHub;
  before(async () => {
    hub = newHub();
    server = await serveWebSocket(hub, { port: 0 });
  });
  after(() => server.close({ graceMs: 0 }));

  it('request item without metadata, <root>.respond answers {"success":true}, the stream goes on', async () => {
    const c = await RawClient.open(server.url);
    try {
      const sub = await c.call('asker.ask', { prompt: 'Name?', schema: { type: 'string' } });
      const request = await c.item(sub, 'request');
      assert.equal(request.metadata, undefined);
      assert.deepEqual(request.requestData, { prompt: 'Name?', schema: { type: 'string' } });
      const answered = await c.request('plexus.respond', { request_id: request.requestId, response_data: 'Ada' });
      assert.deepEqual(answered.result, { success: true });
      await c.item(sub, 'done');
      assert.deepEqual(
        c.items(sub).map((i) => (i.type === 'data' ? i.content : i.type)),
        [{ step: 'before' }, 'request', { step: 'answered', answer: 'Ada' }, 'done'],
      );
      // Answering twice: the id is gone.
      const again = await c.request('plexus.respond', { request_id: request.requestId, response_data: 'Bob' });
      assert.deepEqual(again.error, {
        code: -32602,
        message: `Unknown request ID: ${request.requestId}. The request may have timed out or been cancelled.`,
      });
    } finally {
      c.close();
    }
  });

  it('on a hub without tokens every connection is one caller: another connection may answer', async () => {
    const asking = await RawClient.open(server.url);
    const answering = await RawClient.open(server.url);
    try {
      const sub = await asking.call('asker.ask', { prompt: 'Name?', schema: { type: 'string' } });
      const request = await asking.item(sub, 'request');
      const answered = await answering.request('plexus.respond', { request_id: request.requestId, response_data: 'Ada' });
      assert.deepEqual(answered.result, { success: true });
      await asking.item(sub, 'done');
      assert.deepEqual(asking.items(sub).find((i) => i.content?.step === 'answered')?.content, { step: 'answered', answer: 'Ada' });
    } finally {
      asking.close();
      answering.close();
    }
  });

  it('bad respond params and refused answers are JSON-RPC errors with a reason', async () => {
    const c = await RawClient.open(server.url);
    try {
      const bad = await c.request('plexus.respond', { request_id: 42 });
      assert.equal(bad.error.code, -32602);
      assert.match(bad.error.message, /^Invalid params: expected \{"request_id"/);
      const sub = await c.call('asker.ask', { prompt: 'How many?', schema: { type: 'integer', minimum: 1 } });
      const request = await c.item(sub, 'request');
      const refused = await c.request('plexus.respond', { request_id: request.requestId, response_data: 0 });
      assert.deepEqual(refused.error, { code: -32602, message: 'Invalid response: answer must be >= 1' });
      const error = await c.item(sub, 'error');
      assert.equal(error.message, 'Invalid response: answer must be >= 1');
    } finally {
      c.close();
    }
  });

  it('a request nobody answers times out: an error item in the stream; a late answer is an unknown id', async () => {
    const c = await RawClient.open(server.url);
    try {
      const sub = await c.call('asker.ask', { prompt: 'Anyone?', timeout_ms: 100 });
      const request = await c.item(sub, 'request');
      assert.equal(request.timeoutMs, 100);
      const error = await c.item(sub, 'error');
      assert.deepEqual(
        [error.code, error.message, error.recoverable],
        ['-32006', 'Request timed out waiting for response (after 100ms): Anyone?', true],
      );
      await c.item(sub, 'done');
      const late = await c.request('plexus.respond', { request_id: request.requestId, response_data: 'here' });
      assert.equal(late.error.code, -32602);
      assert.equal(hub.pendingRequests, 0);
    } finally {
      c.close();
    }
  });

  it("unsubscribing while a request is pending drops the request and runs the method's finally", async () => {
    const c = await RawClient.open(server.url);
    try {
      const before = finished.ask;
      const sub = await c.call('asker.ask', { prompt: 'Wait for me?' });
      const request = await c.item(sub, 'request');
      assert.equal(hub.pendingRequests, 1);
      assert.equal((await c.request('plexus.call_unsub', [sub])).result, true);
      await eventually(() => finished.ask === before + 1 && hub.pendingRequests === 0);
      const late = await c.request('plexus.respond', { request_id: request.requestId, response_data: true });
      assert.equal(late.error.code, -32602);
    } finally {
      c.close();
    }
  });

  it('closing the connection while a request is pending does the same', async () => {
    const c = await RawClient.open(server.url);
    const before = finished.ask;
    const sub = await c.call('asker.ask', { prompt: 'Still there?' });
    await c.item(sub, 'request');
    c.close();
    await eventually(() => finished.ask === before + 1 && hub.pendingRequests === 0);
  });

  it('PlexusClient answers with its onRequest handler, and declines without one', async () => {
    const asked: unknown[] = [];
    const client = new PlexusClient({
      url: server.url,
      onRequest: (r) => {
        asked.push([r.path, r.data, r.timeoutMs]);
        return true;
      },
    });
    const plain = new PlexusClient({ url: server.url });
    try {
      assert.deepEqual(await client.collect('asker.ask', { prompt: 'OK?', schema: BOOL }), [
        { step: 'before' },
        { step: 'answered', answer: true },
      ]);
      assert.deepEqual(asked, [['asker.ask', { prompt: 'OK?', schema: BOOL }, 30_000]]);
      await assert.rejects(plain.collect('asker.ask', { prompt: 'OK?' }), { code: -32006, message: 'Request declined by the caller' });
    } finally {
      client.close();
      plain.close();
    }
  });
});

describe('bidirectional requests over stdio (hub serve --stdio)', () => {
  let child: ChildProcess;
  let lines: AsyncIterator<string>;
  before(() => {
    child = spawn(process.execPath, [HUB, 'serve', '--stdio', '--no-builtins', `${root}examples/trash.ts`], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  });
  after(() => child.kill('SIGKILL'));

  const send = (msg: unknown) => child.stdin!.write(`${JSON.stringify(msg)}\n`);
  const next = async (): Promise<any> => {
    const r = await lines.next();
    assert.ok(!r.done, 'stdout ended');
    return JSON.parse(r.value);
  };

  it('asks, takes the answer from <root>.respond, and deletes after confirmation', async () => {
    send({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'trash.empty' } });
    const sub = (await next()).result;
    const request = (await next()).params.result;
    assert.equal(request.type, 'request');
    assert.deepEqual(request.requestData, {
      prompt: 'Permanently delete 3 items (draft.txt, old-notes.md, screenshot.png)?',
      schema: { type: 'boolean', description: 'true deletes them' },
    });
    send({ jsonrpc: '2.0', id: 2, method: 'plexus.respond', params: { request_id: request.requestId, response_data: true } });
    const frames = [];
    for (;;) {
      const f = await next();
      frames.push(f);
      if (f.params?.result?.type === 'done') break;
    }
    assert.deepEqual(frames.find((f) => f.id === 2)?.result, { success: true });
    assert.deepEqual(
      frames.filter((f) => f.params?.subscription === sub && f.params.result.type === 'data').map((f) => f.params.result.content.name),
      ['draft.txt', 'old-notes.md', 'screenshot.png'],
    );
  });
});

describe('bidirectional requests through the MCP bridge (elicitation)', () => {
  let server: McpHttpServer;
  let hub: DynamicHub;
  before(async () => {
    hub = newHub();
    server = await serveMcpHttp(hub, { port: 0 });
  });
  after(() => server.close());

  type Elicited = { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> };
  async function connect(elicitation?: (message: string, schema: unknown) => Elicited | Promise<Elicited>): Promise<Client> {
    const client = new Client({ name: 'elicit-test', version: '1.0.0' }, elicitation ? { capabilities: { elicitation: {} } } : {});
    if (elicitation)
      client.setRequestHandler(ElicitRequestSchema, async (req) =>
        elicitation(req.params.message, (req.params as { requestedSchema?: unknown }).requestedSchema),
      );
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    return client;
  }

  it('a client with the elicitation capability is asked (a primitive schema wrapped as {value}) and its answer reaches the method', async () => {
    const asked: unknown[] = [];
    const client = await connect((message, schema) => {
      asked.push({ message, schema });
      return { action: 'accept', content: { value: 7 } };
    });
    try {
      const result = (await client.callTool({
        name: 'asker.ask',
        arguments: { prompt: 'Pick a number', schema: { type: 'integer' } },
      })) as CallToolResult;
      assert.deepEqual(result.structuredContent, { items: [{ step: 'before' }, { step: 'answered', answer: 7 }] });
      assert.deepEqual(asked, [
        { message: 'Pick a number', schema: { type: 'object', properties: { value: { type: 'integer' } }, required: ['value'] } },
      ]);
      const declined = await connect(() => ({ action: 'decline' }));
      try {
        const kept = (await declined.callTool({ name: 'trash.empty', arguments: {} })) as CallToolResult;
        assert.deepEqual(kept.structuredContent, { items: [{ event: 'kept', count: 3, reason: 'Request declined by the caller' }] });
      } finally {
        await declined.close();
      }
      const confirmed = (await client.callTool({ name: 'trash.empty', arguments: {} })) as CallToolResult;
      // `trash.empty` asks for a boolean: the SDK refuses 7 against the requested schema, nothing is deleted, the method says why.
      assert.deepEqual(confirmed.structuredContent, {
        items: [
          {
            event: 'kept',
            count: 3,
            reason:
              'Elicitation failed: MCP error -32602: Elicitation response content does not match requested schema: data/value must be boolean',
          },
        ],
      });
    } finally {
      await client.close();
    }
  });

  it("cancelling the tool call while the elicitation is pending drops the request and runs the method's finally", async () => {
    let elicited!: () => void;
    const asked = new Promise<void>((r) => (elicited = r));
    const client = await connect(() => {
      elicited();
      return new Promise<Elicited>(() => {}); // the person never answers
    });
    try {
      const before = finished.ask;
      const abort = new AbortController();
      const call = client.callTool({ name: 'asker.ask', arguments: { prompt: 'Waiting…' } }, undefined, { signal: abort.signal });
      await asked;
      assert.equal(hub.pendingRequests, 1);
      abort.abort();
      await assert.rejects(call);
      await eventually(() => finished.ask === before + 1 && hub.pendingRequests === 0);
    } finally {
      await client.close();
    }
  });

  it('an unanswered elicitation times out like any request', async () => {
    const client = await connect(() => new Promise<Elicited>(() => {}));
    try {
      const result = (await client.callTool({ name: 'asker.ask', arguments: { prompt: 'Hello?', timeout_ms: 200 } })) as CallToolResult;
      assert.equal(result.isError, true);
      assert.deepEqual(result.content, [{ type: 'text', text: 'Request timed out waiting for response (after 200ms): Hello?' }]);
      assert.equal(hub.pendingRequests, 0);
    } finally {
      await client.close();
    }
  });

  it('a client without the capability gets an error result saying so', async () => {
    const client = await connect();
    try {
      const result = (await client.callTool({ name: 'asker.ask', arguments: { prompt: 'Proceed?', schema: BOOL } })) as CallToolResult;
      assert.equal(result.isError, true);
      assert.deepEqual(result.content, [
        { type: 'text', text: 'Cannot ask "Proceed?": this MCP client does not support elicitation (it did not declare the capability)' },
      ]);
    } finally {
      await client.close();
    }
  });
});

describe('hub call prompts for requests', () => {
  let server: { child: ChildProcess; url: string };
  before(async () => {
    server = await startHub({ args: ['--no-builtins', `${root}examples/trash.ts`] });
  });
  after(() => server.child.kill('SIGKILL'));

  function hubCall(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [HUB, 'call', ...args, '--url', server.url], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.end(stdin);
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  }

  it('reads the answer from a piped stdin (re-asking on an unreadable one); end of input declines', async () => {
    const declined = await hubCall(['trash.empty'], '');
    assert.equal(declined.code, 0);
    assert.match(
      declined.stderr,
      /^\? Permanently delete 3 items \(draft\.txt, old-notes\.md, screenshot\.png\)\? \(y\/n\) \n\(no answer: declined\)\n$/,
    );
    assert.deepEqual(JSON.parse(declined.stdout), { event: 'kept', count: 3, reason: 'Request declined by the caller' });

    const confirmed = await hubCall(['trash.empty'], 'maybe\ny\n');
    assert.equal(confirmed.code, 0);
    assert.match(confirmed.stderr, /\(y\/n\) maybe\n\(expected y or n\)\n\? Permanently delete 3 items .*\(y\/n\) y\n$/);
    assert.deepEqual(
      confirmed.stdout
        .trim()
        .split(/\n(?=\{)/)
        .map((j) => JSON.parse(j).name),
      ['draft.txt', 'old-notes.md', 'screenshot.png'],
    );
  });

  it('--raw shows the request item too', async () => {
    await hubCall(['trash.put', '--name', 'x'], '');
    const raw = await hubCall(['trash.empty', '--raw'], 'n\n');
    const items = raw.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      items.map((i) => i.type),
      ['request', 'data', 'done'],
    );
    assert.deepEqual(items[1].content, { event: 'kept', count: 1, reason: 'not confirmed' });
  });

  it('prompts on a terminal: a pty through script(1)', {
    skip: existsSync('/usr/bin/script') ? false : 'script(1) is not installed (util-linux)',
  }, async () => {
    await hubCall(['trash.put', '--name', 'tty.txt'], '');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, HUB, 'call', 'trash.empty', '--url', server.url].map(quote).join(' ');
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout!.on('data', (d) => {
      screen += d;
      // Answer once the question is on the screen, as a person would.
      if (screen.includes('(y/n) ') && !child.stdin!.writableEnded) child.stdin!.end('y\r');
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    assert.match(screen, /\? Permanently delete \d+ items? \((.*, )?tty\.txt\)\? \(y\/n\) y\r?\n/);
    assert.match(screen, /"event": "deleted",\r?\n {2}"name": "tty\.txt"/);
  });

  it("answers the reference server's standard payloads (confirm, prompt, select) in their response shapes", async () => {
    // A stand-in for Substrate's `interactive` activation: raw frames, reference payloads.
    const questions = [
      { type: 'confirm', message: 'Sure?', default: false },
      { type: 'prompt', message: 'Project name?' },
      {
        type: 'select',
        message: 'Template?',
        options: [
          { value: 'rust', label: 'Rust' },
          { value: 'ts', label: 'TypeScript', description: 'tsx' },
        ],
        multi_select: false,
      },
    ];
    const answers: unknown[] = [];
    const fake = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    fake.on('connection', (ws) => {
      let asked = 0;
      const ask = () => {
        const item = { type: 'request', requestId: `r${asked}`, requestData: questions[asked], timeoutMs: 5000 };
        ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'result', params: { subscription: 1, result: item } }));
      };
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw));
        if (msg.method === '_info') {
          // As the reference does: the client asks the root name first.
          const meta = { provenance: ['plexus'], plexus_hash: '0000000000000000', timestamp: 0 };
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: 2 }));
          for (const result of [
            { type: 'data', metadata: meta, content_type: '_info', content: { backend: 'plexus' } },
            { type: 'done', metadata: meta },
          ])
            ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'result', params: { subscription: 2, result } }));
        } else if (msg.method === 'plexus.call') {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: 1 }));
          ask();
        } else if (msg.method === 'plexus.respond') {
          answers.push(msg.params.response_data);
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { success: true } }));
          if (++asked < questions.length) return ask();
          const meta = { provenance: ['interactive'], plexus_hash: '0000000000000000', timestamp: 0 };
          ws.send(
            JSON.stringify({ jsonrpc: '2.0', method: 'result', params: { subscription: 1, result: { type: 'done', metadata: meta } } }),
          );
        }
      });
    });
    await new Promise((r) => fake.once('listening', r));
    try {
      const url = `ws://127.0.0.1:${(fake.address() as { port: number }).port}`;
      const child = spawn(process.execPath, [HUB, 'call', 'interactive.wizard', '--url', url], {
        cwd: root,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.stdin!.end('\nplexus\n3\n2\n');
      assert.equal(await new Promise((r) => child.once('exit', r)), 0);
      assert.deepEqual(answers, [
        { type: 'confirmed', value: false },
        { type: 'text', value: 'plexus' },
        { type: 'selected', values: ['ts'] },
      ]);
      assert.match(stderr, /\? Template\?\n {2}1\) Rust\n {2}2\) TypeScript — tsx\n\(a number\) 3\n\(expected 1 to 2\)\n/);
    } finally {
      fake.close();
    }
  });

  it('parses answers by the schema', () => {
    assert.equal(parseAnswer('Yes', BOOL), true);
    assert.equal(parseAnswer('no', BOOL), false);
    assert.equal(parseAnswer('perhaps', BOOL), undefined);
    assert.equal(parseAnswer('3.5', { type: 'number' }), 3.5);
    assert.equal(parseAnswer('', { type: 'number' }), undefined);
    assert.equal(parseAnswer('', { type: 'number', default: 2 }), 2);
    assert.equal(parseAnswer('42', { type: 'string' }), '42');
    assert.equal(parseAnswer('red', { type: 'string', enum: ['red', 'green'] }), 'red');
    assert.equal(parseAnswer('blue', { type: 'string', enum: ['red', 'green'] }), undefined);
    assert.deepEqual(parseAnswer('{"a":1}', { type: 'object' }), { a: 1 });
  });
});

describe('bidirectional requests in a generated TypeScript client', () => {
  let server: PlexusServer;
  before(async () => {
    server = await serveWebSocket(newHub(), { port: 0 });
  });
  after(() => server.close({ graceMs: 0 }));

  it('createClient({ onRequest }) answers; without it requests are declined; the program type-checks strictly', async () => {
    const dir = join(tmp, 'ts');
    mkdirSync(dir, { recursive: true });
    const reader = new PlexusClient({ url: server.url });
    await generate({ schema: (p) => reader.schema(p) }, { out: join(dir, 'client') }).finally(() => reader.close());
    assert.match(
      readFileSync(join(dir, 'client', 'client.ts'), 'utf8'),
      /@plexus trash\.empty \(stream, bidirectional, hash [0-9a-f]{16}\)/,
    );
    writeFileSync(
      join(dir, 'main.ts'),
      `import { createClient, PlexusError, type ClientRequest, type TrashEvent } from './client/index.js';
const asked: string[] = [];
const hub = createClient({
  url: process.env.HUB_URL!,
  onDrift: 'throw',
  onRequest: (request: ClientRequest) => {
    asked.push(\`\${request.path}: \${(request.data as { prompt: string }).prompt}\`);
    return true;
  },
});
const deleted: TrashEvent[] = [];
for await (const e of hub.trash.empty()) deleted.push(e);
hub.$close();
const plain = createClient({ url: process.env.HUB_URL! });
await plain.trash.put({ name: 'x' });
const kept: TrashEvent[] = [];
for await (const e of plain.trash.empty()) kept.push(e);
let declined = '';
try {
  for await (const _ of plain.asker.ask({ prompt: 'OK?' })) void _;
} catch (e) {
  if (e instanceof PlexusError) declined = \`\${e.code} \${e.message}\`;
}
plain.$close();
console.log(JSON.stringify({ asked, deleted: deleted.length, kept, declined }));
`,
    );
    await typecheckStrict(join(dir, 'main.ts'));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(dir, 'main.ts')], {
      cwd: root,
      env: { ...process.env, HUB_URL: server.url },
    });
    assert.deepEqual(JSON.parse(stdout), {
      asked: ['trash.empty: Permanently delete 3 items (draft.txt, old-notes.md, screenshot.png)?'],
      deleted: 3,
      kept: [{ event: 'kept', count: 1, reason: 'Request declined by the caller' }],
      declined: '-32006 Request declined by the caller',
    });
  });
});
