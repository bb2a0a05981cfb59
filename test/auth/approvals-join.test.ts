// Issue #28 §2 through a joined child: hub `edge` joins the parent as `edge1` (grant
// `_join.edge1`); a token on the parent calling `edge1.shell.run` (execute) waits for
// the parent's owner before anything reaches the child. Denied: the child never hears
// of it. Approved: it runs on the child, once. A token granted only `write` on the same
// path does not get execute (refused without a wait), and the child hears nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptJoins,
  DynamicHub,
  HubAuth,
  JoinBindings,
  joinParent,
  parseGrant,
  serveWebSocket,
  TokenStore,
  type JoinAcceptor,
  type JoinHandle,
  type PlexusServer,
} from '../../src/index.js';
import { until } from '../support/federation.js';
import { eventually } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';
import { recordingShell } from '../support/shell.js';

const ran: number[] = [];
const child = new DynamicHub('edge').register(recordingShell(ran));

describe('an execute call to a joined child waits for the parent owner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-approvals-join-'));
  const store = new TokenStore(dir);
  const joinToken = store.create({ name: 'edge', hub: 'plexus', grants: [parseGrant('_join.edge1')] }).token;
  const callerToken = store.create({ name: 'caller', hub: 'plexus', grants: [parseGrant('edge1.shell.run:execute')] }).token;
  const writerToken = store.create({ name: 'writer', hub: 'plexus', grants: [parseGrant('edge1.shell.*:write')] }).token;
  const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 } });
  const parent = new DynamicHub('plexus', { policy: auth });
  let acceptor: JoinAcceptor;
  let server: PlexusServer;
  let joined: JoinHandle;
  let caller: RawClient;

  before(async () => {
    acceptor = acceptJoins(parent, { watchMs: 0, bindings: JoinBindings.in(dir) });
    server = await serveWebSocket(parent, { port: 0, takeOver: acceptor.takeOver });
    joined = joinParent(child, server.url, { name: 'edge1', token: joinToken, backoffMs: 50 });
    await joined.joined;
    await eventually(() => acceptor.mounts.get('edge1')?.connected === true, 5000);
    caller = await RawClient.open(server.url, { headers: { authorization: `Bearer ${callerToken}` } });
    // The parent has described the child's tree: edge1.shell.run is known (and needs execute).
    await until(async () => {
      const schema = await caller.itemsToEnd(await caller.call('edge1.shell.schema', {}));
      if (schema[0].type !== 'data') throw new Error(JSON.stringify(schema));
    });
  });
  after(async () => {
    caller?.close();
    joined?.close();
    await server?.close({ graceMs: 0 });
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("denied by the parent's owner: execute_not_approved, and the child never ran it", async () => {
    const sub = await caller.call('edge1.shell.run', { n: 1 });
    await caller.item(sub, 'progress');
    const [held] = auth.approvals!.list();
    assert.equal(held!.path, 'edge1.shell.run');
    assert.equal(held!.principal.name, 'caller');
    auth.approvals!.decide(held!.id, { approve: false });
    const items = await caller.itemsToEnd(sub, 10_000);
    assert.equal(items.find((i) => i.type === 'error')?.code, 'execute_not_approved', JSON.stringify(items));
    assert.deepEqual(ran, []);
  });

  it("approved by the parent's owner: it runs on the child, once", async () => {
    const sub = await caller.call('edge1.shell.run', { n: 2 });
    await caller.item(sub, 'progress');
    assert.deepEqual(ran, [], 'nothing reaches the child while the call waits');
    const [held] = auth.approvals!.list();
    auth.approvals!.decide(held!.id, { approve: true });
    const items = await caller.itemsToEnd(sub, 10_000);
    assert.ok(
      items.some((i) => i.type === 'data' && i.content === 'ran 2'),
      JSON.stringify(items),
    );
    assert.deepEqual(ran, [2]);
  });

  it('a write grant on the same path is not execute: refused at once, no wait, the child hears nothing', async () => {
    const writer = await RawClient.open(server.url, { headers: { authorization: `Bearer ${writerToken}` } });
    try {
      const items = await writer.itemsToEnd(await writer.call('edge1.shell.run', { n: 3 }), 10_000);
      assert.ok(!items.some((i) => i.type === 'progress'), `no approval wait: ${JSON.stringify(items)}`);
      const error = items.find((i) => i.type === 'error');
      assert.ok(error, JSON.stringify(items));
      assert.equal(auth.approvals!.size, 0);
      assert.deepEqual(ran, [2]);
    } finally {
      writer.close();
    }
  });
});
