import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub } from '../../src/index.js';
import { Mustache, pluginId } from '../../activations/mustache/index.js';
import { openDatabase } from '../../activations/storage/index.js';

const ECHO = pluginId('echo', '1.0.0');
const OTHER = pluginId('solar', '1.0.0');

function setup(database = ':memory:') {
  let now = Date.UTC(2026, 0, 1);
  const mustache = new Mustache({ database, clock: () => now });
  const hub = new DynamicHub().register(mustache);
  type Outcome = { content?: any; error?: { code?: string; message: string } };
  const call = async (method: string, params: Record<string, unknown>): Promise<Outcome> => {
    const out: Outcome = {};
    for await (const item of hub.call(`mustache.${method}`, params)) {
      if (item.type === 'data') out.content = item.content;
      if (item.type === 'error') out.error = { code: item.code, message: item.message };
    }
    return out;
  };
  const ok = async (method: string, params: Record<string, unknown>) => {
    const r = await call(method, params);
    assert.equal(r.error, undefined, r.error?.message);
    return r.content;
  };
  const code = async (method: string, params: Record<string, unknown>) => (await call(method, params)).error?.code;
  return { mustache, call, ok, code, advance: (ms: number) => (now += ms), seconds: () => Math.floor(now / 1000) };
}

describe('mustache', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => (s = setup()));
  afterEach(() => s.mustache.close());

  it('plugin ids are the reference ones: UUIDv5 of "<namespace>@<major>"', () => {
    assert.equal(pluginId('arbor', '1.0.0'), '58fd2bc4-b477-509b-9568-c5aee56f1bc0');
    assert.equal(pluginId('mustache', '1.2.3'), '66b81c90-4121-5795-bd5a-4927d9eed131');
    assert.equal(pluginId('changelog', '1.0.0'), '75f17ebd-bbf9-5cd1-ac8c-4c2ba728e9c8');
  });

  it('register_template returns TemplateInfo; registering again keeps id and created_at and updates the source', async () => {
    const first = await s.ok('register_template', { plugin_id: ECHO, method: 'echo', name: 'default', template: '{{message}}' });
    assert.deepEqual(first, {
      id: first.id,
      plugin_id: ECHO,
      method: 'echo',
      name: 'default',
      created_at: s.seconds(),
      updated_at: s.seconds(),
    });
    assert.match(first.id, /^[0-9a-f-]{36}$/);
    s.advance(3000);
    const second = await s.ok('register_template', {
      plugin_id: ECHO.toUpperCase(),
      method: 'echo',
      name: 'default',
      template: '#{{seq}} {{message}}',
    });
    assert.deepEqual(second, { ...first, updated_at: first.updated_at + 3 });
    assert.equal(await s.ok('get_template', { plugin_id: ECHO, method: 'echo', name: 'default' }), '#{{seq}} {{message}}');
  });

  it('register_template errors: a template that does not parse, a plugin_id that is not a UUID, a missing field', async () => {
    const bad = await s.call('register_template', { plugin_id: ECHO, method: 'echo', name: 'x', template: '{{#items}}unclosed' });
    assert.equal(bad.error?.code, 'mustache.invalid_template');
    assert.match(bad.error!.message, /^Invalid template: Unclosed section "items"/);
    assert.equal(await s.code('register_template', { plugin_id: 'echo', method: 'echo', name: 'x', template: '' }), '-32602');
    assert.equal(await s.code('register_template', { plugin_id: ECHO, method: 'echo', template: '' }), '-32602');
    assert.deepEqual(await s.ok('list_templates', { plugin_id: ECHO }), []);
  });

  it('render escapes exactly & < > " \' (as the Rust crate), leaves / ` = alone, and {{{x}}} / {{&x}} raw', async () => {
    await s.ok('register_template', { plugin_id: ECHO, method: 'echo', name: 'default', template: '{{text}}|{{{text}}}|{{&text}}' });
    const out = await s.ok('render', { plugin_id: ECHO, method: 'echo', value: { text: `<a href="/x?y=1&z='2'">\`</a>` } });
    assert.equal(
      out,
      `&lt;a href=&quot;/x?y=1&amp;z=&#39;2&#39;&quot;&gt;\`&lt;/a&gt;|<a href="/x?y=1&z='2'">\`</a>|<a href="/x?y=1&z='2'">\`</a>`,
    );
  });

  it('render: sections over arrays and objects, false and empty skip, missing keys empty, numbers as decimals, named templates', async () => {
    const template =
      '{{title}}:{{#items}} [{{name}}={{n}}]{{/items}}{{#flag}} never{{/flag}}{{#none}} never{{/none}}{{^none}} (no none){{/none}} {{#owner}}{{who}}{{/owner}}{{missing}}.';
    await s.ok('register_template', { plugin_id: ECHO, method: 'echo', name: 'verbose', template });
    const value = {
      title: 'List',
      items: [
        { name: 'a', n: 1 },
        { name: 'b', n: 2.5 },
      ],
      flag: false,
      none: [],
      owner: { who: 'ada' },
    };
    assert.equal(
      await s.ok('render', { plugin_id: ECHO, method: 'echo', template_name: 'verbose', value }),
      'List: [a=1] [b=2.5] (no none) ada.',
    );
    assert.equal(
      await s.code('render', { plugin_id: ECHO, method: 'echo', value }),
      'mustache.template_not_found',
      'the default name is "default"',
    );
    await s.ok('register_template', { plugin_id: ECHO, method: 'echo', name: 'default', template: '{{.}}' });
    assert.equal(await s.ok('render', { plugin_id: ECHO, method: 'echo', template_name: null, value: 'plain' }), 'plain');
  });

  it('render errors: unknown template (the reference message), bad plugin_id, missing value', async () => {
    const r = await s.call('render', { plugin_id: ECHO, method: 'once', template_name: 'compact', value: {} });
    assert.deepEqual(r.error, {
      code: 'mustache.template_not_found',
      message: `Template not found: plugin=${ECHO}, method=once, name=compact`,
    });
    assert.equal(await s.code('render', { plugin_id: 'x', method: 'once', value: {} }), '-32602');
    await s.ok('register_template', { plugin_id: ECHO, method: 'once', name: 'default', template: '{{message}}' });
    assert.equal(await s.code('render', { plugin_id: ECHO, method: 'once' }), '-32602');
  });

  it('list_templates: one plugin, ordered by method then name', async () => {
    for (const [method, name] of [
      ['once', 'b'],
      ['echo', 'z'],
      ['once', 'a'],
      ['echo', 'default'],
    ]) {
      await s.ok('register_template', { plugin_id: ECHO, method, name, template: name });
    }
    await s.ok('register_template', { plugin_id: OTHER, method: 'info', name: 'default', template: '{{name}}' });
    const list = await s.ok('list_templates', { plugin_id: ECHO });
    assert.deepEqual(
      list.map((t: { method: string; name: string }) => `${t.method}/${t.name}`),
      ['echo/default', 'echo/z', 'once/a', 'once/b'],
    );
    assert.equal(list[0].template, undefined, 'infos carry no source');
    assert.equal(await s.code('list_templates', { plugin_id: 'nope' }), '-32602');
  });

  it('get_template: the source, or mustache.template_not_found', async () => {
    await s.ok('register_template', { plugin_id: ECHO, method: 'echo', name: 'default', template: 'T {{message}}' });
    assert.equal(await s.ok('get_template', { plugin_id: ECHO, method: 'echo', name: 'default' }), 'T {{message}}');
    const r = await s.call('get_template', { plugin_id: ECHO, method: 'echo', name: 'nope' });
    assert.deepEqual(r.error, {
      code: 'mustache.template_not_found',
      message: `Template not found: plugin=${ECHO}, method=echo, name=nope`,
    });
    assert.equal(await s.code('get_template', { plugin_id: ECHO, method: 'echo' }), '-32602');
  });

  it('delete_template: 1 when it existed, 0 after; bad plugin_id', async () => {
    await s.ok('register_template', { plugin_id: ECHO, method: 'echo', name: 'default', template: 'x' });
    assert.equal(await s.ok('delete_template', { plugin_id: ECHO, method: 'echo', name: 'default' }), 1);
    assert.equal(await s.ok('delete_template', { plugin_id: ECHO, method: 'echo', name: 'default' }), 0);
    assert.equal(await s.code('get_template', { plugin_id: ECHO, method: 'echo', name: 'default' }), 'mustache.template_not_found');
    assert.equal(await s.code('delete_template', { plugin_id: '', method: 'echo', name: 'default' }), '-32602');
  });

  it('storage failures are mustache.storage_error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mustache-'));
    const file = join(dir, 'hub.db');
    const broken = setup(file);
    try {
      const db = openDatabase(file);
      db.exec('DROP TABLE templates');
      db.close();
      const r = await broken.call('register_template', { plugin_id: ECHO, method: 'echo', name: 'd', template: 'x' });
      assert.equal(r.error?.code, 'mustache.storage_error');
      assert.match(r.error!.message, /no such table: templates/);
    } finally {
      broken.mustache.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two data dirs are isolated (the reference tenant test): a template registered in one is invisible in the other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mustache-tenants-'));
    const a = setup(join(dir, 'a', 'hub.db'));
    const b = setup(join(dir, 'b', 'hub.db'));
    try {
      await a.ok('register_template', { plugin_id: ECHO, method: 'echo', name: 'default', template: 'A' });
      assert.deepEqual(await b.ok('list_templates', { plugin_id: ECHO }), []);
      assert.equal(await b.code('render', { plugin_id: ECHO, method: 'echo', value: {} }), 'mustache.template_not_found');
      assert.equal(await a.ok('render', { plugin_id: ECHO, method: 'echo', value: {} }), 'A');
    } finally {
      a.mustache.close();
      b.mustache.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
