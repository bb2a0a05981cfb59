import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicHub, type MethodSchema, type PluginSchema } from '../../src/index.js';
import { Kitchen } from '../fixtures/kitchen.js';

describe('schemas from TypeScript types', () => {
  const hub = new DynamicHub().register(new Kitchen());
  let plugin: PluginSchema;
  const m = (name: string): MethodSchema => plugin.methods.find((x) => x.name === name)!;
  before(async () => {
    plugin = (await hub.schema('kitchen')) as PluginSchema;
  });

  it('takes the activation description from the class JSDoc and the version from the decorator', () => {
    assert.equal(plugin.namespace, 'kitchen');
    assert.equal(plugin.version, '2.1.0');
    assert.equal(plugin.description, 'Every kind of type the schema extractor has to understand.');
  });

  it('lists methods in declaration order with snake_case wire names and the built-in schema last', () => {
    assert.deepEqual(
      plugin.methods.map((x) => x.name),
      ['everything', 'tree', 'nothing', 'later', 'counted', 'ticks', 'failing', 'explode', 'forever', 'stuck', 'renamed', 'schema'],
    );
    assert.deepEqual(plugin.methods.at(-1), {
      name: 'schema',
      description: 'Get plugin or method schema. Pass {"method": "name"} for a specific method.',
      hash: 'auto_schema',
      streaming: false,
      bidirectional: false,
    });
  });

  it('maps parameters: primitives, arrays, interfaces, enums, literal unions, defaults, optionals, nested objects', () => {
    const p = m('everything').params as any;
    assert.equal(p.type, 'object');
    assert.equal(p.additionalProperties, false);
    assert.deepEqual(p.required.sort(), ['color', 'name', 'point', 'tags']);
    assert.deepEqual(p.properties.name, { type: 'string', description: 'who is asking' });
    assert.deepEqual(p.properties.tags, { type: 'array', items: { type: 'string' }, description: 'free-form labels' });
    assert.equal(p.properties.point.$ref, '#/$defs/Point');
    assert.deepEqual(p.$defs.Point.required.sort(), ['x', 'y']);
    assert.equal(p.$defs.Point.properties.label.description, 'Optional label.');
    assert.equal(p.$defs.Point.additionalProperties, false);
    assert.deepEqual(p.$defs.Color.enum, ['red', 'green']);
    assert.deepEqual(p.properties.mode.enum.sort(), ['loud', 'quiet']);
    assert.equal(p.properties.mode.default, 'quiet');
    assert.equal(p.properties.mode.description, 'how loud');
    assert.equal(p.properties.shape.anyOf.length, 2);
    assert.deepEqual(p.properties.shape.anyOf[0].properties.kind, { type: 'string', const: 'circle' });
    assert.deepEqual(p.properties.nested.properties.depth.properties.deeper, { type: 'array', items: { type: 'boolean' } });
  });

  it('describes the item type, named types with a title, and recursive types through $defs', () => {
    assert.deepEqual(m('everything').returns, {
      type: 'object',
      properties: { ok: { type: 'boolean' }, mode: { type: 'string' } },
      required: ['mode', 'ok'],
      additionalProperties: false,
    });
    const tree = m('tree').returns as any;
    assert.equal(tree.title, 'Tree');
    assert.equal(tree.properties.children.items.$ref, '#/$defs/Tree');
    assert.ok(tree.$defs.Tree);
  });

  it('unwraps Promise, Generator, AsyncGenerator and Observable, dropping progress marks; void is null', () => {
    assert.deepEqual(m('later').returns, { type: 'number' });
    assert.deepEqual(m('counted').returns, { type: 'number' });
    assert.deepEqual(m('ticks').returns, { type: 'number' });
    assert.deepEqual(m('failing').returns, { type: 'number' });
    assert.deepEqual(m('nothing').returns, { type: 'null' });
  });

  it('marks streaming from the return type and leaves CallContext out of the params', () => {
    const streaming = plugin.methods.filter((x) => x.streaming).map((x) => x.name);
    assert.deepEqual(streaming, ['counted', 'ticks', 'failing', 'forever', 'stuck']);
    assert.equal(m('ticks').params, undefined);
    assert.equal(m('nothing').params, undefined);
  });

  it('applies decorator overrides of name and description', () => {
    assert.equal(m('renamed').description, 'Custom text.');
  });

  it('returns one method schema with {method}', async () => {
    const single = await hub.schema('kitchen.tree');
    assert.deepEqual(single, m('tree'));
  });
});
