/**
 * The projection alone (no hub): the schema walk and the plugin's rendering are
 * deterministic whatever order a hub lists things in, and the frontmatter survives
 * descriptions a hand-written YAML would break on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readAgentView, renderPlugin, type SchemaReader } from '../../cli/agent-projection.js';
import type { MethodSchema, PluginSchema } from '../../src/index.js';
import { frontmatter, listedMethods } from './export-support.js';

const method = (name: string, extra: Partial<MethodSchema> = {}): MethodSchema => ({
  name,
  description: `does ${name}`,
  hash: `h-${name}`,
  streaming: false,
  bidirectional: false,
  verbs: ['read'],
  ...extra,
});

const AUTO = method('schema', { hash: 'auto_schema' });

function plugin(namespace: string, methods: MethodSchema[], children: string[] = [], description = `the ${namespace}`): PluginSchema {
  return {
    namespace,
    version: '1.0.0',
    description,
    self_hash: 's',
    hash: 'h',
    methods: [...methods, AUTO],
    children: children.map((c) => ({ namespace: c, description: c, hash: 'x' })),
  };
}

/** A hub's schemas by path; `reversed` lists every child and method backwards. */
function reader(tree: Record<string, PluginSchema>, reversed = false): SchemaReader {
  return {
    async schema(path?: string) {
      const s = tree[path ?? '']!;
      return reversed ? { ...s, methods: [...s.methods].reverse(), children: [...(s.children ?? [])].reverse() } : s;
    },
  };
}

const PROXY = { command: '/usr/bin/node', hubArgs: ['/opt/hub.js'], url: 'ws://127.0.0.1:4444', agent: 'bot', dataDir: '/data' };

const TREE: Record<string, PluginSchema> = {
  '': plugin('plexus', [method('hash')], ['zeta', 'alpha', 'hidden']),
  zeta: plugin('zeta', [method('b', { params: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } }), method('a')]),
  alpha: plugin('alpha', [], ['inner']),
  'alpha.inner': plugin('inner', [method('go', { streaming: true, verbs: ['execute'] })]),
  // Only its generated schema method is visible: no skill for it.
  hidden: plugin('hidden', []),
};

describe('the agent projection', () => {
  it('is the same bytes whatever order the hub lists children and methods in', async () => {
    const a = renderPlugin({ view: await readAgentView(reader(TREE)), agent: 'bot', proxy: PROXY });
    const b = renderPlugin({ view: await readAgentView(reader(TREE, true)), agent: 'bot', proxy: PROXY });
    assert.deepEqual([...a], [...b]);
    assert.deepEqual([...a.keys()], ['.claude-plugin/plugin.json', '.mcp.json', 'skills/alpha/SKILL.md', 'skills/zeta/SKILL.md']);
    assert.deepEqual(listedMethods(a.get('skills/zeta/SKILL.md')!).headings, ['zeta.a', 'zeta.b']);
    assert.deepEqual(listedMethods(a.get('skills/alpha/SKILL.md')!), { headings: ['alpha.inner.go'], tools: ['alpha.inner.go'] });
    assert.match(a.get('skills/zeta/SKILL.md')!, /"arguments":\{"q":"<q>"\}/);
    assert.match(a.get('skills/alpha/SKILL.md')!, /needs execute; a call may wait until the hub owner approves it/);
  });

  it('a changed grant changes the version; nothing granted is still a valid plugin', async () => {
    const full = renderPlugin({ view: await readAgentView(reader(TREE)), agent: 'bot', proxy: PROXY });
    const narrower = renderPlugin({
      view: await readAgentView(reader({ ...TREE, '': plugin('plexus', [], ['zeta']) })),
      agent: 'bot',
      proxy: PROXY,
    });
    const version = (files: ReadonlyMap<string, string>) => JSON.parse(files.get('.claude-plugin/plugin.json')!).version;
    assert.notEqual(version(full), version(narrower));
    const none = renderPlugin({
      view: await readAgentView(reader({ '': plugin('plexus', [method('hash')]) })),
      agent: 'bot',
      proxy: PROXY,
    });
    assert.deepEqual([...none.keys()], ['.claude-plugin/plugin.json', '.mcp.json']);
    assert.match(JSON.parse(none.get('.claude-plugin/plugin.json')!).description, /nothing is granted yet/);
  });

  it('writes frontmatter any description survives (quotes, colons, newlines, length)', async () => {
    const nasty = `Says "hi": #1\n---\nname: evil\n${'x'.repeat(2000)}`;
    const view = await readAgentView(
      reader({ '': plugin('plexus', [], ['odd_name']), odd_name: plugin('odd_name', [method('m')], [], nasty) }),
    );
    const skill = renderPlugin({ view, agent: 'bot', proxy: PROXY }).get('skills/odd-name/SKILL.md')!;
    const fm = frontmatter(skill);
    assert.equal(fm.name, 'odd-name');
    assert.ok(fm.description!.startsWith('Says "hi": #1 --- name: evil'));
    assert.ok(fm.description!.length <= 1024);
  });
});
