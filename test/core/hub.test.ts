import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicHub, defineActivation, type PlexusError, type PluginSchema, type MethodSchema } from '../../src/index.js';
import { builtinActivations } from '../../activations/index.js';
import { collect, contents, errorOf } from '../support/helpers.js';

const hub = new DynamicHub('plexus').register(...builtinActivations());

async function first(path: string, params?: unknown): Promise<any> {
  const items = await collect(hub.call(path, params));
  const err = errorOf(items);
  if (err) throw new Error(err.message);
  return contents(items)[0];
}

describe('routing', () => {
  it('routes through nested hubs at any depth, with provenance and content_type', async () => {
    const items = await collect(hub.call('solar.earth.luna.info'));
    assert.equal(items.length, 2);
    const data = items[0] as any;
    assert.equal(data.content_type, 'solar.earth.luna.info');
    assert.deepEqual(data.metadata.provenance, ['solar', 'earth', 'luna']);
    assert.match(data.metadata.plexus_hash, /^[0-9a-f]{16}$/);
    assert.equal(data.metadata.plexus_hash, hub.hash());
    assert.ok(Number.isInteger(data.metadata.timestamp));
    assert.deepEqual(data.content, {
      name: 'Luna',
      body_type: 'moon',
      mass_kg: 7.342e22,
      radius_km: 1737.4,
      orbital_period_days: 27.32,
      parent: 'Earth',
    });
    assert.equal((await first('solar.jupiter.europa.info')).parent, 'Jupiter');
    assert.equal((await first('solar.info')).body_type, 'star');
  });

  it('accepts the root name as a prefix, and routes the root methods', async () => {
    assert.deepEqual(await first('plexus.echo.once', { message: 'x' }), { message: 'x', seq: 1 });
    assert.deepEqual(await first('plexus.hash'), { event: 'hash', value: hub.hash() });
    const items = await collect(hub.call('plexus.hash'));
    assert.deepEqual((items[0] as any).metadata.provenance, ['plexus']);
    assert.equal((items[0] as any).content_type, 'plexus.hash');
  });

  it('plexus.call forwards to any method', async () => {
    const items = await collect(hub.call('plexus.call', { method: 'echo.echo', params: { message: 'm', count: 2 } }));
    assert.deepEqual(contents(items), [
      { message: 'm', seq: 1 },
      { message: 'm', seq: 2 },
    ]);
  });

  it('streams echo items', async () => {
    const items = await collect(hub.call('echo.echo', { message: 'hi', count: 3 }));
    assert.deepEqual(
      items.map((i) => i.type),
      ['data', 'data', 'data', 'done'],
    );
    assert.deepEqual(
      contents(items).map((c: any) => c.seq),
      [1, 2, 3],
    );
  });

  const errors: [string, unknown, string, string][] = [
    ['nope.x', {}, 'Activation not found: nope', '-32601'],
    ['solar.pluto.info', {}, 'Activation not found: pluto', '-32601'],
    ['echo.nope', {}, 'Method not found: echo.nope', '-32601'],
    ['solar.earth.luna.nope', {}, 'Method not found: solar.earth.luna.nope', '-32601'],
    ['echo', {}, 'Invalid params: Invalid method format: echo', '-32602'],
    ['echo.echo', {}, "Invalid params: missing required param 'message'", '-32602'],
    ['echo.echo', { message: 1 }, "Invalid params: param 'message' must be string", '-32602'],
    ['echo.echo', { message: 'a', count: 'three' }, "Invalid params: param 'count' must be number", '-32602'],
    ['echo.once', { message: 'a', extra: true }, "Invalid params: unknown param 'extra'", '-32602'],
    ['health.check', { x: 1 }, "Invalid params: unknown param 'x'", '-32602'],
    ['solar.observe', { body_type: 'comet' }, "Invalid params: param 'body_type' must be one of", '-32602'],
    ['echo.once', [1, 2], 'Invalid params: params must be an object, got an array', '-32602'],
    ['echo.once', 'str', 'Invalid params: params must be an object, got string', '-32602'],
    ['echo.schema', { method: 5 }, "Invalid params: param 'method' must be string", '-32602'],
    ['echo.schema', { method: 'nope' }, 'Method not found: echo.nope', '-32601'],
  ];
  for (const [path, params, message, code] of errors) {
    it(`${path} ${JSON.stringify(params)} → ${message}`, async () => {
      const items = await collect(hub.call(path, params));
      assert.deepEqual(
        items.map((i) => i.type),
        ['error', 'done'],
      );
      const err = errorOf(items)!;
      assert.ok(err.message.startsWith(message), err.message);
      assert.equal(err.code, code);
    });
  }
});

describe('built-in schema', () => {
  it('the root schema lists children as summaries, sorted, not expanded', async () => {
    const root = (await first('plexus.schema')) as PluginSchema;
    assert.equal(root.namespace, 'plexus');
    assert.deepEqual(
      root.methods.map((m) => m.name),
      ['call', 'hash', 'hashes', 'schema'],
    );
    assert.deepEqual(
      root.children!.map((c) => c.namespace),
      ['echo', 'health', 'solar'],
    );
    for (const c of root.children!) assert.deepEqual(Object.keys(c).sort(), ['description', 'hash', 'namespace']);
    assert.equal(root.hash, hub.hash());
    assert.match(root.children_hash!, /^[0-9a-f]{16}$/);
  });

  it('a nested hub has children; a leaf has neither children nor children_hash', async () => {
    const earth = (await first('solar.earth.schema')) as PluginSchema;
    assert.equal(earth.namespace, 'earth');
    assert.deepEqual(earth.children, [{ namespace: 'luna', description: 'Luna, moon of Earth', hash: earth.children![0]!.hash }]);
    const luna = (await first('solar.earth.luna.schema')) as PluginSchema;
    assert.equal(luna.children, undefined);
    assert.equal(luna.children_hash, undefined);
    assert.equal(luna.hash, earth.children![0]!.hash);
    const venus = (await first('solar.venus.schema')) as PluginSchema;
    assert.equal(venus.children, undefined);
  });

  it('{method} returns one MethodSchema', async () => {
    const m = (await first('echo.schema', { method: 'echo' })) as MethodSchema;
    assert.equal(m.name, 'echo');
    assert.equal(m.streaming, true);
    assert.equal(m.bidirectional, false);
    assert.equal((m.params as any).properties.count.default, 1);
  });

  it('hub.schema() resolves activations and methods, and rejects unknown paths', async () => {
    assert.equal(((await hub.schema('solar.mars')) as PluginSchema).namespace, 'mars');
    assert.equal(((await hub.schema('solar.mars.info')) as MethodSchema).name, 'info');
    await assert.rejects(
      hub.schema('solar.nowhere'),
      (e: PlexusError) => e.code === -32601 && e.message === 'Method not found: solar.nowhere',
    );
    await assert.rejects(
      hub.schema('solar.pluto.info'),
      (e: PlexusError) => e.code === -32601 && e.message === 'Activation not found: pluto',
    );
  });

  it('plexus.hashes reports each child', async () => {
    const report = await first('plexus.hashes');
    assert.equal(report.hash, hub.hash());
    assert.deepEqual(
      report.children.map((c: any) => c.namespace),
      ['echo', 'health', 'solar'],
    );
  });
});

describe('registration and dynamic activations', () => {
  it('a dynamic activation routes, validates against its given schema, and changes the hash', async () => {
    const h = new DynamicHub('root');
    await h.ready();
    const before = h.hash();
    h.register(
      defineActivation({
        namespace: 'calc',
        description: 'Arithmetic from a JSON description',
        methods: {
          add: {
            description: 'Add two numbers',
            params: {
              type: 'object',
              properties: { a: { type: 'number' }, b: { type: 'number' } },
              required: ['a', 'b'],
              additionalProperties: false,
            },
            returns: { type: 'number' },
            handler: ({ a, b }) => (a as number) + (b as number),
          },
        },
      }),
    );
    assert.deepEqual(contents(await collect(h.call('calc.add', { a: 2, b: 3 }))), [5]);
    assert.equal(errorOf(await collect(h.call('calc.add', { a: 2 })))?.message, "Invalid params: missing required param 'b'");
    assert.notEqual(h.hash(), before);
    assert.equal(h.unregister('calc'), true);
    assert.equal(h.hash(), before);
    assert.equal(errorOf(await collect(h.call('calc.add', { a: 1, b: 2 })))?.message, 'Activation not found: calc');
  });

  it('hubs nest inside hubs, and changes below propagate to the root hash', async () => {
    const inner = new DynamicHub('inner');
    const outer = new DynamicHub('outer').register(inner);
    await outer.ready();
    const before = outer.hash();
    let notified = 0;
    outer.onChange(() => notified++);
    inner.register(defineActivation({ namespace: 'leaf', methods: { ping: { handler: () => 'pong' } } }));
    assert.equal(notified, 1);
    assert.notEqual(outer.hash(), before);
    assert.deepEqual(contents(await collect(outer.call('inner.leaf.ping'))), ['pong']);
  });

  it('rejects duplicate namespaces and non-activations', () => {
    const h = new DynamicHub().register(defineActivation({ namespace: 'a' }));
    assert.throws(() => h.register(defineActivation({ namespace: 'a' })), /already registered/);
    assert.throws(() => h.register({}), /neither an @activation class instance nor an Activation/);
    assert.throws(() => defineActivation({ namespace: 'Bad-Name' }), /not a valid path segment/);
  });
});

describe('solar', () => {
  it('observe streams the Sun, then each planet followed by its moons; body_type filters', async () => {
    const all = contents(await collect(hub.call('solar.observe'))) as { name: string; body_type: string }[];
    assert.equal(all.length, 1 + 8 + 14);
    assert.deepEqual(
      all.slice(0, 5).map((b) => b.name),
      ['Sol', 'Mercury', 'Venus', 'Earth', 'Luna'],
    );
    const moons = contents(await collect(hub.call('solar.observe', { body_type: 'moon' }))) as { body_type: string }[];
    assert.equal(moons.length, 14);
    assert.ok(moons.every((b) => b.body_type === 'moon'));
    assert.deepEqual(contents(await collect(hub.call('solar.observe', { body_type: 'star' }))).length, 1);
  });
});
