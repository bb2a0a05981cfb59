/**
 * A workflow's relayed question and approval wait through a mount: hub B (required-auth
 * mode) has the member and the workflow; hub A (required-auth mode) mounts B over a real
 * WebSocket with B's token for it; a caller of A calls `b.flow.check` over A's WebSocket.
 * The member's question reaches the caller of A and the answer the member on B; a
 * refusal, an answer the schema refuses and silence too; the approval wait on B shows at
 * A, over A's WebSocket and over MCP at A. A's grants decide at A who may call the workflow.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { DynamicHub, mountRemote, type PlexusServer } from '../../src/index.js';
import { serveMcpHttp } from '../../src/mcp/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { eventually } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';
import { APPROVED_FLOW_ITEMS, ELICITED_CONFIRM, FLOW_GRANTS, flowHub, type FlowHub } from '../support/workflow-relay.js';

describe('a workflow relays its members’ questions and approval waits through a mount', () => {
  let b: FlowHub;
  let bServer: PlexusServer;
  const dirA = mkdtempSync(join(tmpdir(), 'plexus-workflow-relay-a-'));
  const storeA = new TokenStore(dirA);
  const tokenA = (name: string, grants: string[]) => storeA.create({ name, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) }).token;
  const callerToken = tokenA('caller', ['b.flow.check:read']);
  const otherToken = tokenA('other', ['b.flow.check:read']);
  const outsiderToken = tokenA('outsider', ['b.asker.confirm:read']);
  const authA = new HubAuth({ hub: 'plexus', dataDir: dirA, limiter: { burst: 1000 } });
  const a = new DynamicHub('plexus', { policy: authA });
  let aServer: PlexusServer;
  const clients: RawClient[] = [];
  let caller: RawClient;

  const open = async (token: string): Promise<RawClient> => {
    const client = await RawClient.open(aServer.url, { headers: { authorization: `Bearer ${token}` } });
    clients.push(client);
    return client;
  };
  const respond = (client: RawClient, requestId: string, answer: unknown) =>
    client.request('plexus.respond', { request_id: requestId, response_data: answer });
  const settled = () => eventually(() => a.pendingRequests === 0 && b.hub.pendingRequests === 0, 5000);

  before(async () => {
    b = await flowHub('plexus', { 'hub-a': FLOW_GRANTS });
    bServer = await serveWebSocket(b.hub, { port: 0 });
    mountRemote(a, 'b', bServer.url, { token: b.tokens['hub-a']!, watchMs: 0 });
    await a.ready();
    aServer = await serveWebSocket(a, { port: 0 });
    caller = await open(callerToken);
  });
  after(async () => {
    for (const c of clients) c.close();
    await aServer?.close({ graceMs: 0 });
    a.unregister('b');
    await bServer?.close({ graceMs: 0 });
    b?.close();
    authA.close();
    rmSync(dirA, { recursive: true, force: true });
  });

  it("the question reaches A's caller, the answer B's member; the approval wait on B shows at A, then it runs", async () => {
    const sub = await caller.call('b.flow.check', {});
    const question = await caller.item(sub, 'request');
    assert.deepEqual(question.requestData, { prompt: 'Really?', schema: { type: 'boolean' } });
    const reply = await respond(caller, question.requestId, true);
    assert.equal(reply.error, undefined, JSON.stringify(reply));
    const waiting = await caller.item(sub, 'progress');
    assert.match(waiting.message, /^asker\.run: waiting for approval apr_[0-9a-f]+/);
    const [held] = b.auth.approvals!.list();
    assert.equal(held!.path, 'asker.run');
    assert.equal(held!.principal.name, 'hub-a', "on B the members run as the mount (B's token for A)");
    assert.match(waiting.message, new RegExp(held!.id));
    b.auth.approvals!.decide(held!.id, { approve: true });
    const items = await caller.itemsToEnd(sub, 10_000);
    assert.deepEqual(
      items.filter((i) => i.type === 'data').map((i) => i.content),
      APPROVED_FLOW_ITEMS,
    );
    assert.equal(items.at(-1).type, 'done');
    assert.equal(b.member.answers.at(-1), true);
    await settled();
  });

  it('declined at A: the member on B hears the refusal, the workflow fails naming it, nothing runs after', async () => {
    const sub = await caller.call('b.flow.check', {});
    const question = await caller.item(sub, 'request');
    await respond(caller, question.requestId, { type: 'cancelled' });
    const items = await caller.itemsToEnd(sub, 10_000);
    const error = items.find((i) => i.type === 'error');
    assert.match(error?.message, /workflow member asker\.confirm \(step 1\) failed: Request declined by the caller/, JSON.stringify(items));
    assert.equal(b.member.refusals.at(-1), 'Request declined by the caller');
    assert.equal(b.auth.approvals!.size, 0, 'the execute member was never reached');
    await settled();
  });

  it('an answer the schema refuses is refused at A (-32602) and never reaches the member, which is declined', async () => {
    const heard = b.member.answers.length;
    const sub = await caller.call('b.flow.check', {});
    const question = await caller.item(sub, 'request');
    const reply = await respond(caller, question.requestId, 'yes');
    assert.equal(reply.error?.code, -32602, JSON.stringify(reply));
    assert.match(reply.error.message, /Invalid response/);
    const items = await caller.itemsToEnd(sub, 10_000);
    assert.match(items.find((i) => i.type === 'error')?.message, /asker\.confirm \(step 1\) failed: Request declined by the caller/);
    assert.equal(b.member.answers.length, heard, "'yes' reached nobody on B");
    assert.equal(b.auth.approvals!.size, 0);
    await settled();
  });

  it('unanswered: the member on B times out, the caller of A is told; an answer after that is refused cleanly', async () => {
    b.member.timeoutMs = 300;
    const heard = b.member.answers.length;
    try {
      const sub = await caller.call('b.flow.check', {});
      const question = await caller.item(sub, 'request');
      assert.equal(question.timeoutMs, 300, "A's caller is told how long it has");
      const items = await caller.itemsToEnd(sub, 10_000);
      assert.match(
        items.find((i) => i.type === 'error')?.message,
        /asker\.confirm \(step 1\) failed: Request timed out waiting for response \(after 300ms\): Really\?/,
      );
      assert.match(b.member.refusals.at(-1)!, /timed out/);
      await settled();
      const late = await respond(caller, question.requestId, true);
      assert.equal(late.error?.code, -32602);
      assert.match(late.error.message, /Unknown request ID/);
      assert.equal(b.member.answers.length, heard, 'the late answer reached nobody');
    } finally {
      b.member.timeoutMs = 2000;
    }
    // The mount and both hubs serve on.
    const sub = await caller.call('b.flow.check', {});
    const question = await caller.item(sub, 'request');
    await respond(caller, question.requestId, { type: 'cancelled' });
    assert.match((await caller.itemsToEnd(sub, 10_000)).find((i) => i.type === 'error')?.message, /declined/);
    await settled();
  });

  it("another caller of A cannot answer the caller's question", async () => {
    const other = await open(otherToken);
    const heard = b.member.answers.length;
    const sub = await caller.call('b.flow.check', {});
    const question = await caller.item(sub, 'request');
    const hijack = await respond(other, question.requestId, true);
    assert.equal(hijack.error?.code, -32602, JSON.stringify(hijack));
    assert.match(hijack.error.message, /Unknown request ID/);
    assert.equal(b.member.answers.length, heard, "the other caller's answer reached nobody");
    const reply = await respond(caller, question.requestId, { type: 'cancelled' });
    assert.equal(reply.error, undefined, 'the question is still open for its own caller');
    await caller.itemsToEnd(sub, 10_000);
    await settled();
  });

  it("over MCP at A: B's member's question is elicited of A's MCP client, the answer reaches it, B's approval wait is a progress notification", async () => {
    const mcp = await serveMcpHttp(a, { port: 0 });
    const client = new Client({ name: 'workflow-relay-mount', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const asked: unknown[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push({ message: req.params.message, schema: (req.params as { requestedSchema?: unknown }).requestedSchema });
      return { action: 'accept', content: { value: true } };
    });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { authorization: `Bearer ${callerToken}` } } }),
      );
      const progress: string[] = [];
      const call = client.callTool({ name: 'b.flow.check', arguments: {} }, undefined, {
        onprogress: (p) => progress.push(String(p.message)),
      }) as Promise<CallToolResult>;
      await eventually(() => b.auth.approvals!.size === 1, 10_000);
      const [held] = b.auth.approvals!.list();
      await eventually(() => progress.some((m) => m.startsWith(`asker.run: waiting for approval ${held!.id}`)), 10_000);
      b.auth.approvals!.decide(held!.id, { approve: true });
      const result = await call;
      assert.equal(result.isError, undefined, JSON.stringify(result.content));
      assert.deepEqual(asked, [ELICITED_CONFIRM]);
      assert.deepEqual(result.structuredContent, {
        items: APPROVED_FLOW_ITEMS,
      });
      await settled();
    } finally {
      await client.close();
      await mcp.close();
    }
  });

  it("a caller of A whose grants on A do not cover the workflow is refused at A: B's member is never asked", async () => {
    const outsider = await open(outsiderToken);
    const asked = b.member.answers.length + b.member.refusals.length;
    const sub = await outsider.call('b.flow.check', {});
    const items = await outsider.itemsToEnd(sub, 10_000);
    assert.deepEqual(
      items.map((i) => i.type),
      ['error', 'done'],
      'refused outright: no question, no progress',
    );
    assert.deepEqual([items[0].code, items[0].message], ['-32601', 'Activation not found: flow'], JSON.stringify(items));
    assert.equal(b.member.answers.length + b.member.refusals.length, asked, 'nothing ran on B');
    assert.equal(b.hub.pendingRequests, 0);
  });
});
