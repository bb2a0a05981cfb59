// Issue #28 §2 through a mount: hub A mounts hub B as `far`. A's caller calling
// `far.shell.run` (execute) waits for A's owner first; B then applies its own rule
// to the mount's token, so with B in required mode the call waits for B's owner too;
// only then does it run on B. Denied at A, B never hears of it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { mountRemote } from '../../src/federation/index.js';
import { DynamicHub, type PlexusServer } from '../../src/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { until } from '../support/federation.js';
import { eventually } from '../support/helpers.js';
import { RawClient } from '../support/raw-client.js';
import { recordingShell } from '../support/shell.js';

const ran: number[] = [];

describe('an execute call through a mount waits for the owner of each hub it crosses', () => {
  const dirA = mkdtempSync(join(tmpdir(), 'plexus-approvals-a-'));
  const dirB = mkdtempSync(join(tmpdir(), 'plexus-approvals-b-'));
  const mountToken = new TokenStore(dirB).create({ name: 'hub-a', hub: 'b', grants: [parseGrant('shell.run:execute')] }).token;
  const callerToken = new TokenStore(dirA).create({ name: 'caller', hub: 'plexus', grants: [parseGrant('far.shell.run:execute')] }).token;
  const authA = new HubAuth({ hub: 'plexus', dataDir: dirA, limiter: { burst: 1000 } });
  const authB = new HubAuth({ hub: 'b', dataDir: dirB, limiter: { burst: 1000 } });
  const hubB = new DynamicHub('b', { policy: authB }).register(recordingShell(ran));
  const hubA = new DynamicHub('plexus', { policy: authA });
  const servers: PlexusServer[] = [];
  let client: RawClient;

  before(async () => {
    servers.push(await serveWebSocket(hubB, { port: 0 }));
    mountRemote(hubA, 'far', servers[0]!.url, { token: mountToken, watchMs: 0 });
    servers.push(await serveWebSocket(hubA, { port: 0 }));
    client = await RawClient.open(servers[1]!.url, { headers: { authorization: `Bearer ${callerToken}` } });
    // The mount has described B's tree: far.shell.run is known (and needs execute).
    await until(async () => {
      const schema = await client.itemsToEnd(await client.call('far.shell.schema', {}));
      if (schema[0].type !== 'data') throw new Error(JSON.stringify(schema));
    });
  });
  after(async () => {
    client?.close();
    for (const s of servers.reverse()) await s.close({ graceMs: 0 });
    authA.close();
    authB.close();
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  });

  it("waits for A's owner, then (B in required mode) for B's owner, then runs on B", async () => {
    const sub = await client.call('far.shell.run', { n: 1 });
    await client.item(sub, 'progress');
    const [atA] = authA.approvals!.list();
    assert.equal(atA!.path, 'far.shell.run');
    assert.equal(atA!.principal.name, 'caller');
    assert.equal(authB.approvals!.size, 0, 'B hears of nothing before A approves');
    authA.approvals!.decide(atA!.id, { approve: true });
    await eventually(() => authB.approvals!.size === 1, 10_000);
    const [atB] = authB.approvals!.list();
    assert.equal(atB!.path, 'shell.run');
    assert.equal(atB!.principal.name, 'hub-a', "B sees the mount's token, not A's caller");
    assert.deepEqual(ran, []);
    authB.approvals!.decide(atB!.id, { approve: true });
    const items = await client.itemsToEnd(sub, 10_000);
    assert.ok(
      items.some((i) => i.type === 'data' && i.content === 'ran 1'),
      JSON.stringify(items),
    );
    // Both waits were told to the caller (B's progress item is relayed through the mount).
    assert.equal(items.filter((i) => i.type === 'progress').length, 2, JSON.stringify(items));
    assert.deepEqual(ran, [1]);
  });

  it("denied by A's owner: execute_not_approved, and B never hears of it", async () => {
    const sub = await client.call('far.shell.run', { n: 2 });
    await client.item(sub, 'progress');
    const [atA] = authA.approvals!.list();
    authA.approvals!.decide(atA!.id, { approve: false });
    const items = await client.itemsToEnd(sub, 10_000);
    const error = items.find((i) => i.type === 'error');
    assert.equal(error.code, 'execute_not_approved');
    assert.equal(authB.approvals!.size, 0);
    assert.deepEqual(ran, [1]);
  });
});
