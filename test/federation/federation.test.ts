import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { PlexusClient, type DataItem, type PluginSchema, type StreamItem } from '../../src/index.js';
import { INVENTORY, callItems, rssOf, until } from '../support/federation.js';
import { startHub, type HubProcess } from '../support/hub-process.js';
import { HUB_BIN as HUB, REPO_ROOT as root } from '../support/repo.js';
import { eventually, tick } from '../support/helpers.js';

const run = promisify(execFile);
const tmp = join(root, 'test', '.tmp', `federation-${process.pid}`);
mkdirSync(tmp, { recursive: true });
after(() => rmSync(tmp, { recursive: true, force: true }));

const data = (items: readonly StreamItem[]) => items.filter((i) => i.type === 'data').map((i) => (i as { content: unknown }).content);
const errorItem = (items: readonly StreamItem[]) =>
  items.find((i) => i.type === 'error') as
    | (StreamItem & { code?: string; message: string; recoverable: boolean; since?: string })
    | undefined;

interface Stats {
  produced: number;
  finalized: number;
}

describe('a remote hub mounted by URL (two processes: A mounts B)', () => {
  let b: HubProcess;
  let a: HubProcess;
  before(async () => {
    b = await startHub({ args: ['--no-builtins', INVENTORY] });
    a = await startHub({ args: ['--mount', `b=${b.url}`, '--watch-ms', '100'] });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('calls reach B under b.; provenance shows the full path; progress keeps its place', async () => {
    const items = await callItems(a.url, 'b.inventory.get', { sku: 'abc' });
    assert.deepEqual(data(items), [{ sku: 'abc', count: 3 }]);
    const item = items[0] as DataItem;
    assert.equal(item.type === 'data' && item.content_type, 'b.inventory.get');
    assert.deepEqual(item.metadata.provenance, ['b', 'inventory']);
    const counted = await callItems(a.url, 'b.inventory.count', { n: 4 });
    assert.deepEqual(
      counted.map((i) => (i.type === 'data' ? i.content : i.type === 'progress' ? `progress ${i.message}` : i.type)),
      [1, 'progress halfway', 2, 3, 4, 'done'],
    );
  });

  it("errors keep their codes: B's own validation, a named domain code, a numeric code with recoverable", async () => {
    const invalid = errorItem(await callItems(a.url, 'b.inventory.get', {}));
    assert.deepEqual([invalid?.code, invalid?.message], ['-32602', "Invalid params: missing required param 'sku'"]);
    const named = errorItem(await callItems(a.url, 'b.inventory.get', { sku: 'missing' }));
    assert.deepEqual([named?.code, named?.message], ['inventory.not_found', 'No such item: missing']);
    const broken = await callItems(a.url, 'b.inventory.broken');
    assert.deepEqual(data(broken), ['first']);
    assert.deepEqual([errorItem(broken)?.code, errorItem(broken)?.recoverable], ['-32042', true]);
    const nowhere = errorItem(await callItems(a.url, 'b.nowhere.get'));
    assert.deepEqual([nowhere?.code, nowhere?.message], ['-32601', 'Activation not found: nowhere']);
  });

  it("schemas and hashes are B's: b.schema is B's root under the name b, A's root folds it", async () => {
    const toA = new PlexusClient({ url: a.url });
    const toB = new PlexusClient({ url: b.url });
    try {
      const [bRoot, bInventory, bHash] = [
        (await toB.schema()) as PluginSchema,
        (await toB.schema('inventory')) as PluginSchema,
        await toB.hash(),
      ];
      const mounted = (await toA.schema('b')) as PluginSchema;
      assert.equal(mounted.namespace, 'b');
      assert.equal(mounted.hash, bHash);
      assert.deepEqual(mounted.methods, bRoot.methods);
      assert.deepEqual(await toA.schema('b.inventory'), bInventory);
      assert.deepEqual(
        await toA.schema('b.inventory.get'),
        bInventory.methods.find((m) => m.name === 'get'),
      );
      const aRoot = (await toA.schema()) as PluginSchema;
      assert.equal(aRoot.children?.find((c) => c.namespace === 'b')?.hash, bHash);
      // A's root hash is a fold that includes B's hash: same tree, same hash, across restarts of A.
      const hashBefore = await toA.hash();
      const again = await startHub({ args: ['--mount', `b=${b.url}`] });
      try {
        assert.equal(await callItems(again.url, 'plexus.hash').then((i) => (data(i)[0] as { value: string }).value), hashBefore);
      } finally {
        await again.stop();
      }
    } finally {
      toA.close();
      toB.close();
    }
  });

  it('hub schema (the CLI) walks into the mounted tree', async () => {
    const { stdout } = await run(process.execPath, [HUB, 'schema', '--url', a.url], { cwd: root });
    assert.match(stdout, /^ {2}b {2}v1\.0\.0 {2}hash [0-9a-f]{16}$/m);
    assert.match(stdout, /^ {4}b\.inventory {2}v1\.0\.0/m);
    assert.match(stdout, /get\(sku: string\) → Stock/);
  });

  it("A's MCP bridge lists B's methods as tools and calls them (official SDK client)", async () => {
    const client = new Client({ name: 'federation-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${a.url.replace('ws://', 'http://')}/mcp`)));
    try {
      const tools = (await client.listTools()).tools;
      const get = tools.find((t) => t.name === 'b.inventory.get');
      assert.ok(get, `b.inventory.get among ${tools.map((t) => t.name).join(', ')}`);
      assert.deepEqual(get.inputSchema.required, ['sku']);
      const result = await client.callTool({ name: 'b.inventory.get', arguments: { sku: 'mcp' } });
      assert.deepEqual(result.structuredContent, { result: { sku: 'mcp', count: 3 } });
      const streamed = await client.callTool({ name: 'b.inventory.count', arguments: { n: 3 } });
      assert.deepEqual(streamed.structuredContent, { items: [1, 2, 3] });
    } finally {
      await client.close();
    }
  });

  it("hub mcp --mount (stdio) serves B's methods as tools", async () => {
    const client = new Client({ name: 'federation-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [HUB, 'mcp', '--no-builtins', '--mount', `b=${b.url}`],
        cwd: root,
        stderr: 'ignore',
      }),
    );
    try {
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'b.inventory.count'));
      const result = await client.callTool({ name: 'b.inventory.get', arguments: { sku: 'stdio' } });
      assert.deepEqual(result.structuredContent, { result: { sku: 'stdio', count: 5 } });
    } finally {
      await client.close();
    }
  });

  it("a client generated by hub codegen from A calls B's methods, typed", async () => {
    const out = join(tmp, 'client');
    const { stdout } = await run(process.execPath, [HUB, 'codegen', '--url', a.url, '--out', out], { cwd: root });
    assert.match(stdout, /wrote types\.ts, client\.ts/);
    const program = join(tmp, 'main.ts');
    writeFileSync(
      program,
      `import { createClient, type Stock } from './client/index.js';
const client = createClient({ url: process.env.HUB_URL!, onDrift: 'throw' });
const stock: Stock = await client.b.inventory.get({ sku: 'typed' });
const counted: number[] = [];
for await (const n of client.b.inventory.count({ n: 3 })) counted.push(n);
console.log(JSON.stringify({ stock, counted }));
client.$close();
`,
    );
    const result = await run(process.execPath, ['--import', 'tsx', program], { cwd: root, env: { ...process.env, HUB_URL: a.url } });
    assert.deepEqual(JSON.parse(result.stdout), { stock: { sku: 'typed', count: 5 }, counted: [1, 2, 3] });
  });

  it("backpressure end to end: a client that stops reading pauses B's producer, A's memory stays bounded; cancel runs B's finally", async () => {
    const stats = async (): Promise<Stats> => data(await callItems(b.url, 'inventory.stats'))[0] as Stats;
    const before = await stats();
    const rssBefore = rssOf(a.child.pid!);
    const ws = new WebSocket(a.url);
    await new Promise((r) => ws.once('open', r));
    let received = 0;
    ws.on('message', () => received++);
    const ITEM = 16 * 1024;
    ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'b.inventory.flood', params: { size: ITEM } } }),
    );
    await eventually(() => received > 20, 10_000);
    ws.pause();
    // Wait until B stops producing.
    let last = -1;
    let settled = 0;
    await until(async () => {
      const { produced } = await stats();
      settled = produced === last ? settled + 1 : 0;
      last = produced;
      if (settled < 3) throw new Error('still producing');
    }, 20_000);
    await tick(300); // it stays at rest: paused, not just slow
    const stalled = (await stats()).produced;
    assert.equal((await stats()).produced, stalled, "B's producer is paused");
    const unread = (stalled - before.produced - received) * ITEM;
    assert.ok(unread < 64 * 1024 * 1024, `bytes produced but not read by the client: ${unread}`);
    const grown = rssOf(a.child.pid!) - rssBefore;
    assert.ok(grown < 96 * 1024 * 1024, `A's RSS grew by ${grown} bytes`);
    process.stdout.write(
      `# backpressure: ${Math.round(unread / 1024)} KiB in flight between B's producer and the client, A's RSS +${Math.round(grown / 1024 / 1024)} MiB\n`,
    );
    ws.resume();
    await until(async () => {
      if ((await stats()).produced < stalled + 200) throw new Error('not resumed');
    });
    // Cancel locally: A unsubscribes on B, B's generator `finally` runs.
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'plexus.call_unsub', params: [1] }));
    await until(async () => {
      if ((await stats()).finalized <= before.finalized) throw new Error('not finalized');
    });
    const afterCancel = (await stats()).produced;
    await tick(200); // a while in which a cancelled producer must not produce
    assert.equal((await stats()).produced, afterCancel, 'B stopped producing');
    ws.close();
  });

  it('one stalled consumer does not stall the mount: its stream is held at B, other streams through A keep flowing', async () => {
    const stats = async (): Promise<Stats> => data(await callItems(b.url, 'inventory.stats'))[0] as Stats;
    const slow = new WebSocket(a.url);
    await new Promise((r) => slow.once('open', r));
    let received = 0;
    slow.on('message', () => received++);
    slow.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'plexus.call',
        params: { method: 'b.inventory.flood', params: { size: 16 * 1024 } },
      }),
    );
    await eventually(() => received > 20, 10_000);
    slow.pause();
    let last = -1;
    let settled = 0;
    await until(async () => {
      const { produced } = await stats();
      settled = produced === last ? settled + 1 : 0;
      last = produced;
      if (settled < 3) throw new Error('still producing');
    }, 20_000);
    // The flood is paused at B; a second client's stream through the same mount completes.
    const other = new PlexusClient({ url: a.url });
    const counted: unknown[] = [];
    const done = (async () => {
      for await (const item of other.call('b.inventory.count', { n: 3000 })) if (item.type === 'data') counted.push(item.content);
    })();
    const outcome = await Promise.race([done.then(() => 'completed'), new Promise((r) => setTimeout(() => r('stalled'), 20_000))]);
    assert.equal(outcome, 'completed', `the other stream got ${counted.length} of 3000 items`);
    assert.equal(counted.length, 3000);
    assert.equal((await stats()).produced, last, 'the flood stayed paused meanwhile');
    other.close();
    slow.terminate();
  });

  it('breaking a client loop on A cancels the remote stream (generator finally on B)', async () => {
    const before = (data(await callItems(b.url, 'inventory.stats'))[0] as Stats).finalized;
    const client = new PlexusClient({ url: a.url });
    let n = 0;
    for await (const item of client.call('b.inventory.flood', { size: 8 })) {
      if (item.type === 'data' && ++n === 5) break;
    }
    client.close();
    await until(async () => {
      if ((data(await callItems(b.url, 'inventory.stats'))[0] as Stats).finalized <= before) throw new Error('not yet');
    });
  });
});

describe('three processes: A mounts B, B mounts C', () => {
  let a: HubProcess;
  let b: HubProcess;
  let c: HubProcess;
  before(async () => {
    c = await startHub({ args: ['--no-builtins', INVENTORY] });
    b = await startHub({ args: ['--no-builtins', '--mount', `c=${c.url}`, '--watch-ms', '100'] });
    a = await startHub({ args: ['--no-builtins', '--mount', `b=${b.url}`, '--watch-ms', '100'] });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await c?.stop();
  });

  it("a call through two mounts reaches C, with the full path as provenance and C's hashes in A's schema", async () => {
    const items = await callItems(a.url, 'b.c.inventory.get', { sku: 'deep' });
    assert.deepEqual(data(items), [{ sku: 'deep', count: 4 }]);
    assert.deepEqual((items[0] as DataItem).metadata.provenance, ['b', 'c', 'inventory']);
    const toA = new PlexusClient({ url: a.url });
    const toC = new PlexusClient({ url: c.url });
    try {
      assert.deepEqual(await toA.schema('b.c.inventory'), await toC.schema('inventory'));
      assert.equal(((await toA.schema('b.c')) as PluginSchema).hash, await toC.hash());
    } finally {
      toA.close();
      toC.close();
    }
  });

  it('cancelling at A stops the producer in C', async () => {
    const stats = async () => data(await callItems(c.url, 'inventory.stats'))[0] as Stats;
    const before = await stats();
    const client = new PlexusClient({ url: a.url });
    let n = 0;
    for await (const item of client.call('b.c.inventory.flood', { size: 8 })) {
      if (item.type === 'data' && ++n === 100) break;
    }
    client.close();
    await until(async () => {
      if ((await stats()).finalized <= before.finalized) throw new Error('not yet');
    });
  });

  it('C going down is reported at A as remote_unavailable from B, with since', async () => {
    await c.stop();
    const err = await until(async () => {
      const e = errorItem(await callItems(a.url, 'b.c.inventory.get', { sku: 'x' }));
      if (e?.code !== 'remote_unavailable') throw new Error('still up');
      return e;
    });
    assert.match(err.message, /Remote hub 'c' is unavailable since/);
    assert.ok(!Number.isNaN(Date.parse(err.since!)), `since is a date: ${err.since}`);
    assert.equal(err.recoverable, true);
  });
});
