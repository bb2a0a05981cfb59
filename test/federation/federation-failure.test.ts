import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub, PlexusClient, joinParent, type DataItem, type PluginSchema, type StreamItem } from '../../src/index.js';
import { INVENTORY, callItems, freePort, until } from '../support/federation.js';
import { startHub, type HubProcess } from '../support/hub-process.js';

const data = (items: readonly StreamItem[]) => items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content);
const errorItem = (items: readonly StreamItem[]) =>
  items.find((i) => i.type === 'error') as
    | (StreamItem & { code?: string; message: string; recoverable: boolean; since?: string })
    | undefined;

/** Reads a stream until it ends, returning its items; `onData` sees each data item as it arrives. */
async function drain(
  client: PlexusClient,
  path: string,
  params: Record<string, unknown>,
  onData: (n: number) => void,
): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  let n = 0;
  for await (const item of client.call(path, params)) {
    items.push(item);
    if (item.type === 'data') onData(++n);
  }
  return items;
}

const processes: HubProcess[] = [];
after(async () => {
  for (const p of processes) await p.stop();
});
async function start(args: string[], port = 0): Promise<HubProcess> {
  const p = await startHub({ args, port });
  processes.push(p);
  return p;
}

describe('a mounted hub that is down at start, drops mid-stream, and comes back', () => {
  it('fails fast while down, ends in-flight calls with remote_unavailable (since), reconnects, never unmounts', async () => {
    const port = await freePort();
    const a = await start(['--no-builtins', '--mount', `b=ws://127.0.0.1:${port}`, '--watch-ms', '100', '--reconnect-max-ms', '500']);
    // Down at start: A serves anyway; a call fails at once with the code, a date and recoverable.
    const early = errorItem(await callItems(a.url, 'b.inventory.get', { sku: 'x' }));
    assert.equal(early?.code, 'remote_unavailable');
    assert.match(early!.message, /^Remote hub 'b' is unavailable since .*cannot connect to ws:\/\/127\.0\.0\.1:\d+/);
    assert.equal(early!.recoverable, true);
    assert.ok(!Number.isNaN(Date.parse(early!.since!)));

    // B comes up on that port: A reconnects on its own (jittered backoff), B's tree appears.
    let b = await start(['--no-builtins', INVENTORY], port);
    const up = await until(async () => {
      const items = await callItems(a.url, 'b.inventory.get', { sku: 'up' });
      if (!data(items).length) throw new Error(errorItem(items)?.message);
      return items;
    });
    assert.deepEqual(data(up), [{ sku: 'up', count: 2 }]);
    const toA = new PlexusClient({ url: a.url });
    const hashUp = ((await toA.schema('b')) as PluginSchema).hash;

    // B dies mid-stream: the stream ends with remote_unavailable, after the items that arrived.
    const client = new PlexusClient({ url: a.url });
    let killed: Promise<unknown> | undefined;
    const cut = await drain(client, 'b.inventory.flood', { size: 8 }, (n) => {
      if (n === 50) killed = b.stop();
    });
    await killed;
    const dropped = errorItem(cut);
    assert.equal(dropped?.code, 'remote_unavailable');
    assert.ok(data(cut).length >= 50);
    assert.equal(cut[cut.length - 1], dropped, 'the error item is the last one the client reads');
    const since = dropped!.since!;

    // While down: new calls fail fast with the same since; the mount and its last known tree stay.
    const whileDown = errorItem(await callItems(a.url, 'b.inventory.get', { sku: 'x' }));
    assert.equal(whileDown?.code, 'remote_unavailable');
    assert.equal(whileDown?.since, since);
    assert.equal(((await toA.schema('b')) as PluginSchema).hash, hashUp);
    assert.ok(((await toA.schema()) as PluginSchema).children?.some((c) => c.namespace === 'b'));

    // B comes back: same mount, calls work again.
    b = await start(['--no-builtins', INVENTORY], port);
    await until(async () => {
      const items = await callItems(a.url, 'b.inventory.get', { sku: 'back' });
      if (!data(items).length) throw new Error(errorItem(items)?.message);
    });
    client.close();
    toA.close();
  });
});

describe('reverse mount: a hub dials its parent and is mounted there (--join)', () => {
  it('is mounted under its name over its own connection, refused with a wrong token, re-joins after a restart', async () => {
    // Its own data dir: the names joined hubs are bound to persist there.
    const dataDir = mkdtempSync(join(tmpdir(), 'plexus-join-'));
    after(() => rmSync(dataDir, { recursive: true, force: true }));
    const a = await start([
      '--no-builtins',
      '--data-dir',
      dataDir,
      '--allow-join',
      '--join-token',
      's3cret',
      '--watch-ms',
      '100',
      '--reconnect-max-ms',
      '500',
    ]);
    let edge = await start([
      '--no-builtins',
      '--join',
      a.url,
      '--name',
      'edge1',
      '--parent-token',
      's3cret',
      '--reconnect-max-ms',
      '500',
      INVENTORY,
    ]);
    const items = await until(async () => {
      const got = await callItems(a.url, 'edge1.inventory.get', { sku: 'nat' });
      if (!data(got).length) throw new Error(errorItem(got)?.message);
      return got;
    });
    assert.deepEqual(data(items), [{ sku: 'nat', count: 3 }]);
    assert.deepEqual((items[0] as DataItem).metadata.provenance, ['edge1', 'inventory']);
    // Same federation as a forward mount: A's view of edge1 carries edge1's hashes.
    const toA = new PlexusClient({ url: a.url });
    const toEdge = new PlexusClient({ url: edge.url });
    assert.equal(((await toA.schema('edge1')) as PluginSchema).hash, await toEdge.hash());
    assert.deepEqual(await toA.schema('edge1.inventory'), await toEdge.schema('inventory'));
    toEdge.close();
    // Streams and cancel go the other way over the same socket.
    let n = 0;
    for await (const item of toA.call('edge1.inventory.count', { n: 200 })) if (item.type === 'data') n++;
    assert.equal(n, 200);

    // A wrong token is refused, nothing is mounted.
    const states: string[] = [];
    const intruder = joinParent(new DynamicHub('intruder'), a.url, {
      name: 'bad',
      token: 'nope',
      onState: (s, d) => states.push(`${s} ${d}`),
    });
    await until(async () => {
      if (!states.some((s) => s.startsWith('refused'))) throw new Error('not refused yet');
    });
    await intruder.close();
    assert.match(states.find((s) => s.startsWith('refused'))!, /-32001: Join refused: a valid join token is required/);
    assert.ok(!((await toA.schema()) as PluginSchema).children?.some((c) => c.namespace === 'bad'));

    // The edge goes away: calls fail fast, the mount stays; it comes back and re-joins under the same name.
    await edge.stop();
    const down = await until(async () => {
      const e = errorItem(await callItems(a.url, 'edge1.inventory.get', { sku: 'x' }));
      if (e?.code !== 'remote_unavailable') throw new Error('still up');
      return e;
    });
    assert.match(down.message, /Remote hub 'edge1' is unavailable since/);
    edge = await start([
      '--no-builtins',
      '--join',
      a.url,
      '--name',
      'edge1',
      '--parent-token',
      's3cret',
      '--reconnect-max-ms',
      '500',
      INVENTORY,
    ]);
    await until(async () => {
      const got = await callItems(a.url, 'edge1.inventory.get', { sku: 'again' });
      if (!data(got).length) throw new Error(errorItem(got)?.message);
    });
    toA.close();
  });
});
