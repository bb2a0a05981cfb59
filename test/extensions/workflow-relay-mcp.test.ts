/**
 * A workflow's relayed question and approval wait over MCP (streamable HTTP, a real SDK
 * client, a hub in required-auth mode): the member's question becomes an elicitation
 * (the prompt, the schema as the bridge maps it), the client's accept / decline /
 * cancel / silence reaches the member, a client without the capability is refused at
 * once, and the approval wait arrives as a progress notification.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { type McpHttpServer, serveMcpHttp } from '../../src/mcp/index.js';
import { eventually } from '../support/helpers.js';
import { APPROVED_FLOW_ITEMS, ELICITED_CONFIRM, FLOW_GRANTS, flowHub, type FlowHub } from '../support/workflow-relay.js';

type Elicited = { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> };

describe('a workflow relays its members’ questions and approval waits over MCP', () => {
  let flow: FlowHub;
  let server: McpHttpServer;
  let token: string;
  const clients: Client[] = [];

  before(async () => {
    flow = await flowHub('plexus', { caller: FLOW_GRANTS });
    token = flow.tokens.caller!;
    server = await serveMcpHttp(flow.hub, { port: 0 });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await server?.close();
    flow?.close();
  });

  async function connect(elicitation?: (message: string, schema: unknown) => Elicited | Promise<Elicited>): Promise<Client> {
    const client = new Client({ name: 'workflow-relay', version: '1.0.0' }, elicitation ? { capabilities: { elicitation: {} } } : {});
    if (elicitation) {
      client.setRequestHandler(ElicitRequestSchema, async (req) =>
        elicitation(req.params.message, (req.params as { requestedSchema?: unknown }).requestedSchema),
      );
    }
    await client.connect(
      new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    clients.push(client);
    return client;
  }

  const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

  it('the question is elicited (prompt, schema wrapped as {value}); accepted, the member hears it; the approval wait is a progress notification', async () => {
    const asked: unknown[] = [];
    const client = await connect((message, schema) => {
      asked.push({ message, schema });
      return { action: 'accept', content: { value: true } };
    });
    const progress: string[] = [];
    const call = client.callTool({ name: 'flow.check', arguments: {} }, undefined, {
      onprogress: (p) => progress.push(String(p.message)),
    }) as Promise<CallToolResult>;
    await eventually(() => flow.auth.approvals!.size === 1, 10_000);
    const [held] = flow.auth.approvals!.list();
    assert.equal(held!.path, 'asker.run');
    assert.equal(held!.principal.name, 'caller', 'the member runs as the MCP caller');
    await eventually(() => progress.some((m) => m.startsWith('asker.run: waiting for approval')), 10_000);
    assert.match(progress.find((m) => m.startsWith('asker.run'))!, new RegExp(`^asker\\.run: waiting for approval ${held!.id}`));
    flow.auth.approvals!.decide(held!.id, { approve: true });
    const result = await call;
    assert.equal(result.isError, undefined, text(result));
    assert.deepEqual(asked, [ELICITED_CONFIRM]);
    assert.deepEqual(result.structuredContent, {
      items: APPROVED_FLOW_ITEMS,
    });
    assert.deepEqual(flow.member.answers.at(-1), true);
    assert.equal(flow.hub.pendingRequests, 0);
  });

  for (const action of ['decline', 'cancel'] as const) {
    it(`${action}d by the client: the member hears a refusal, the tool result is an error naming it, nothing runs after`, async () => {
      const client = await connect(() => ({ action }));
      const heard = flow.member.answers.length;
      const result = (await client.callTool({ name: 'flow.check', arguments: {} })) as CallToolResult;
      assert.equal(result.isError, true);
      assert.match(text(result), /workflow member asker\.confirm \(step 1\) failed: Request declined by the caller/);
      assert.equal(flow.member.refusals.at(-1), 'Request declined by the caller');
      assert.equal(flow.member.answers.length, heard, 'no answer reached the member');
      assert.equal(flow.auth.approvals!.size, 0, 'the execute member was never reached');
      assert.equal(flow.hub.pendingRequests, 0);
    });
  }

  it('an answer that does not fit the schema is refused (by the SDK against the elicited schema): the member never gets it', async () => {
    const client = await connect(() => ({ action: 'accept', content: { value: 'yes' } }));
    const heard = flow.member.answers.length;
    const result = (await client.callTool({ name: 'flow.check', arguments: {} })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match(
      text(result),
      /asker\.confirm \(step 1\) failed: Elicitation failed: .*does not match requested schema: data\/value must be boolean/,
    );
    assert.equal(flow.member.answers.length, heard);
    assert.equal(flow.auth.approvals!.size, 0);
    assert.equal(flow.hub.pendingRequests, 0);
  });

  it('a client without the elicitation capability: the member is refused at once, the result says why (no hang)', async () => {
    const client = await connect();
    const started = Date.now();
    const result = (await client.callTool({ name: 'flow.check', arguments: {} })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match(
      text(result),
      /asker\.confirm \(step 1\) failed: Cannot ask "Really\?": this MCP client does not support elicitation \(it did not declare the capability\)/,
    );
    assert.ok(Date.now() - started < flow.member.timeoutMs, 'refused before the question would have timed out');
    assert.equal(flow.hub.pendingRequests, 0);
  });

  it('unanswered: the member times out and the result says so; the answer that comes after is dropped, the hub serves on', async () => {
    flow.member.timeoutMs = 300;
    let late!: (e: Elicited) => void;
    let elicited = false;
    const client = await connect(() => {
      elicited = true;
      return new Promise<Elicited>((r) => (late = r));
    });
    try {
      const heard = flow.member.answers.length;
      const result = (await client.callTool({ name: 'flow.check', arguments: {} })) as CallToolResult;
      assert.ok(elicited);
      assert.equal(result.isError, true);
      assert.match(text(result), /asker\.confirm \(step 1\) failed: Request timed out waiting for response \(after 300ms\): Really\?/);
      late({ action: 'accept', content: { value: true } });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(flow.member.answers.length, heard, 'the late answer reached nobody');
      assert.equal(flow.hub.pendingRequests, 0);
      const again = await connect(() => ({ action: 'decline' }));
      const next = (await again.callTool({ name: 'flow.check', arguments: {} })) as CallToolResult;
      assert.match(text(next), /Request declined by the caller/);
    } finally {
      flow.member.timeoutMs = 2000;
    }
  });
});
