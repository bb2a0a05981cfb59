/**
 * A workflow passes on what its members tell and ask their caller, over a real
 * WebSocket of a hub in required-auth mode: a member's question reaches the
 * workflow's caller (same prompt and schema), and the caller's answer, refusal or
 * silence reaches the member; a member held for the owner's approval shows the
 * caller why it waits (its progress item, naming the member), and runs once approved.
 * The relayed question is the workflow's own (its own id and timeout); the workflow
 * hands the answer on, and only from the caller it asked. The same over MCP and through
 * a mount: workflow-relay-mcp.test.ts, workflow-relay-mount.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PlexusServer } from '../../src/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { RawClient } from '../support/raw-client.js';
import { APPROVED_FLOW_ITEMS, FLOW_GRANTS, type FlowHub, flowHub } from '../support/workflow-relay.js';

describe('a workflow relays its members’ questions and progress to its caller', () => {
  let flow: FlowHub;
  let server: PlexusServer;
  let client: RawClient;
  let other: RawClient;

  before(async () => {
    flow = await flowHub('plexus', { caller: FLOW_GRANTS, other: FLOW_GRANTS });
    server = await serveWebSocket(flow.hub, { port: 0 });
    client = await RawClient.open(server.url, { headers: { authorization: `Bearer ${flow.tokens.caller}` } });
    other = await RawClient.open(server.url, { headers: { authorization: `Bearer ${flow.tokens.other}` } });
  });
  after(async () => {
    client?.close();
    other?.close();
    await server?.close({ graceMs: 0 });
    flow?.close();
  });

  const respond = (requestId: string, answer: unknown, from = client) =>
    from.request('plexus.respond', { request_id: requestId, response_data: answer });

  it('the question reaches the caller, the answer reaches the member; the approval wait is shown, then it runs', async () => {
    const sub = await client.call('flow.check', {});
    const question = await client.item(sub, 'request');
    assert.deepEqual(question.requestData, { prompt: 'Really?', schema: { type: 'boolean' } });
    assert.equal(flow.hub.pendingRequests, 2, "the member's question and the workflow's own");
    const reply = await respond(question.requestId, true);
    assert.equal(reply.error, undefined, JSON.stringify(reply));
    const waiting = await client.item(sub, 'progress');
    assert.match(waiting.message, /^asker\.run: waiting for approval apr_[0-9a-f]+/);
    const [held] = flow.auth.approvals!.list();
    assert.equal(held!.path, 'asker.run');
    assert.equal(held!.principal.name, 'caller', 'the member runs as the caller');
    flow.auth.approvals!.decide(held!.id, { approve: true });
    const items = await client.itemsToEnd(sub, 10_000);
    assert.deepEqual(
      items.filter((i) => i.type === 'data').map((i) => i.content),
      APPROVED_FLOW_ITEMS,
    );
    assert.equal(items.at(-1).type, 'done');
    assert.equal(flow.hub.pendingRequests, 0);
  });

  it('declined by the caller: the member hears why, the workflow fails naming it, nothing runs after', async () => {
    const sub = await client.call('flow.check', {});
    const question = await client.item(sub, 'request');
    await respond(question.requestId, { type: 'cancelled' });
    const items = await client.itemsToEnd(sub, 10_000);
    const error = items.find((i) => i.type === 'error');
    assert.equal(error?.code, 'transport_error', JSON.stringify(items));
    assert.match(error.message, /workflow member asker\.confirm \(step 1\) failed: Request declined by the caller/);
    assert.match(flow.member.refusals.at(-1)!, /Request declined by the caller/);
    assert.equal(flow.auth.approvals!.size, 0, 'the execute member was never reached');
    assert.equal(flow.hub.pendingRequests, 0);
  });

  it('an answer the question refuses is refused to the caller, and the member fails with the reason', async () => {
    const sub = await client.call('flow.check', {});
    const question = await client.item(sub, 'request');
    const reply = await respond(question.requestId, 'yes');
    assert.equal(reply.error?.code, -32602, JSON.stringify(reply));
    const items = await client.itemsToEnd(sub, 10_000);
    assert.match(items.find((i) => i.type === 'error')?.message, /asker\.confirm \(step 1\) failed: Invalid response/);
    assert.equal(flow.hub.pendingRequests, 0);
  });

  it("another caller's answer to the caller's question is refused as an unknown id and reaches nobody", async () => {
    const heard = flow.member.answers.length;
    const sub = await client.call('flow.check', {});
    const question = await client.item(sub, 'request');
    const hijack = await respond(question.requestId, true, other);
    assert.equal(hijack.error?.code, -32602, JSON.stringify(hijack));
    assert.match(hijack.error.message, /^Unknown request ID/);
    assert.equal(flow.member.answers.length, heard);
    assert.equal(flow.auth.approvals!.size, 0, 'nothing ran on the forged answer');
    const reply = await respond(question.requestId, { type: 'cancelled' });
    assert.equal(reply.error, undefined, 'the question is still open for its own caller');
    assert.match((await client.itemsToEnd(sub, 10_000)).find((i) => i.type === 'error')?.message, /declined by the caller/);
    assert.equal(flow.hub.pendingRequests, 0);
  });

  it("another connection with the caller's token is the same caller: it may answer", async () => {
    const second = await RawClient.open(server.url, { headers: { authorization: `Bearer ${flow.tokens.caller}` } });
    try {
      const sub = await client.call('flow.check', {});
      const question = await client.item(sub, 'request');
      const reply = await respond(question.requestId, { type: 'cancelled' }, second);
      assert.equal(reply.error, undefined, JSON.stringify(reply));
      assert.match((await client.itemsToEnd(sub, 10_000)).find((i) => i.type === 'error')?.message, /declined by the caller/);
      assert.equal(flow.hub.pendingRequests, 0);
    } finally {
      second.close();
    }
  });

  it('unanswered: the member times out, the caller is told; an answer after that is refused cleanly', async () => {
    flow.member.timeoutMs = 300;
    const heard = flow.member.answers.length;
    try {
      const sub = await client.call('flow.check', {});
      const question = await client.item(sub, 'request');
      assert.equal(question.timeoutMs, 300, 'the caller is told how long it has');
      const items = await client.itemsToEnd(sub, 10_000);
      assert.match(
        items.find((i) => i.type === 'error')?.message,
        /asker\.confirm \(step 1\) failed: Request timed out waiting for response \(after 300ms\): Really\?/,
      );
      const late = await respond(question.requestId, true);
      assert.match(late.error?.message, /^Unknown request ID/, JSON.stringify(late));
      assert.equal(flow.member.answers.length, heard, 'the late answer reached nobody');
      assert.equal(flow.hub.pendingRequests, 0);
    } finally {
      flow.member.timeoutMs = 2000;
    }
  });
});
