/**
 * A workflow passes on what its members tell and ask their caller, over a real
 * WebSocket of a hub in required-auth mode: a member's question reaches the
 * workflow's caller (same prompt and schema), and the caller's answer, refusal or
 * silence reaches the member; a member held for the owner's approval shows the
 * caller why it waits (its progress item, naming the member), and runs once approved.
 * The relayed question is the workflow's own (its own id and timeout); the workflow
 * hands the answer on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExtensionHost } from '../../activations/extension/host.js';
import type { ExtensionManifest } from '../../activations/extension/manifest.js';
import { validateManifest } from '../../activations/extension/validate.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { type CallContext, DynamicHub, defineActivation, type PlexusServer } from '../../src/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { eventually } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';

const asked: string[] = [];
const member = defineActivation({
  namespace: 'asker',
  methods: {
    confirm: {
      description: 'Asks the caller to confirm, yields what it heard.',
      bidirectional: true,
      streaming: true,
      handler: async function* (_params, ctx: CallContext) {
        try {
          const answer = await ctx.request({ prompt: 'Really?', schema: { type: 'boolean' }, timeoutMs: 2000 });
          yield `heard ${answer}`;
        } catch (err) {
          asked.push((err as Error).message);
          throw err;
        }
      },
    },
    run: { description: 'Runs something (execute).', verbs: ['execute'], handler: () => 'ran' },
  },
});

const FLOW: ExtensionManifest = {
  manifest: 'plexus-extension/0.1',
  source: 'flow',
  capabilities: [{ name: 'check', kind: 'workflow', describe: 'Asks, then runs', members: ['asker.confirm', 'asker.run'] }],
};

describe('a workflow relays its members’ questions and progress to its caller', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-workflow-relay-'));
  const tokens = new TokenStore(dir);
  const caller = tokens.create({
    name: 'caller',
    hub: 'plexus',
    grants: ['flow.check:read', 'asker.confirm:read', 'asker.run:execute'].map((g) => parseGrant(g)),
  }).token;
  const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 } });
  const hub = new DynamicHub('plexus', { policy: auth }).register(member);
  let host: ExtensionHost;
  let server: PlexusServer;
  let client: RawClient;

  before(async () => {
    host = new ExtensionHost(hub, { dataDir: dir, transport: { secrets: { get: () => undefined } }, pollMs: 50 });
    host.store.add(FLOW, validateManifest(FLOW).surface);
    await host.start();
    await eventually(() => hub.children().some((c) => c.namespace === 'flow'), 5000);
    server = await serveWebSocket(hub, { port: 0 });
    client = await RawClient.open(server.url, { headers: { authorization: `Bearer ${caller}` } });
  });
  after(async () => {
    client?.close();
    await server?.close({ graceMs: 0 });
    host?.close();
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const respond = (requestId: string, answer: unknown) =>
    client.request('plexus.respond', { request_id: requestId, response_data: answer });

  it('the question reaches the caller, the answer reaches the member; the approval wait is shown, then it runs', async () => {
    const sub = await client.call('flow.check', {});
    const question = await client.item(sub, 'request');
    assert.deepEqual(question.requestData, { prompt: 'Really?', schema: { type: 'boolean' } });
    assert.equal(hub.pendingRequests, 2, "the member's question and the workflow's own");
    const reply = await respond(question.requestId, true);
    assert.equal(reply.error, undefined, JSON.stringify(reply));
    const waiting = await client.item(sub, 'progress');
    assert.match(waiting.message, /^asker\.run: waiting for approval apr_[0-9a-f]+/);
    const [held] = auth.approvals!.list();
    assert.equal(held!.path, 'asker.run');
    assert.equal(held!.principal.name, 'caller', 'the member runs as the caller');
    auth.approvals!.decide(held!.id, { approve: true });
    const items = await client.itemsToEnd(sub, 10_000);
    assert.deepEqual(
      items.filter((i) => i.type === 'data').map((i) => i.content),
      [
        { member: 'asker.confirm', step: 0, data: 'heard true' },
        { member: 'asker.run', step: 1, data: 'ran' },
      ],
    );
    assert.equal(items.at(-1).type, 'done');
    assert.equal(hub.pendingRequests, 0);
  });

  it('declined by the caller: the member hears why, the workflow fails naming it, nothing runs after', async () => {
    const sub = await client.call('flow.check', {});
    const question = await client.item(sub, 'request');
    await respond(question.requestId, { type: 'cancelled' });
    const items = await client.itemsToEnd(sub, 10_000);
    const error = items.find((i) => i.type === 'error');
    assert.equal(error?.code, 'transport_error', JSON.stringify(items));
    assert.match(error.message, /workflow member asker\.confirm \(step 1\) failed: Request declined by the caller/);
    assert.match(asked.at(-1)!, /Request declined by the caller/);
    assert.equal(auth.approvals!.size, 0, 'the execute member was never reached');
    assert.equal(hub.pendingRequests, 0);
  });

  it('an answer the question refuses is refused to the caller, and the member fails with the reason', async () => {
    const sub = await client.call('flow.check', {});
    const question = await client.item(sub, 'request');
    const reply = await respond(question.requestId, 'yes');
    assert.equal(reply.error?.code, -32602, JSON.stringify(reply));
    const items = await client.itemsToEnd(sub, 10_000);
    assert.match(items.find((i) => i.type === 'error')?.message, /asker\.confirm \(step 1\) failed: Invalid response/);
    assert.equal(hub.pendingRequests, 0);
  });
});
