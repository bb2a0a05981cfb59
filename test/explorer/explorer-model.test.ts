// The explorer's logic that needs no browser: the lazy schema tree, the form model,
// the snippets, and the bundle's size.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../../codegen/index.js';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { defineActivation, DynamicHub, type MethodSchema, type PluginSchema } from '../../src/index.js';
import { paramsFromArgs } from '../../cli/format.js';
import { explorerDir } from '../../src/http/explorer.js';
import { builtinActivations } from '../../activations/index.js';
import { Kitchen } from '../fixtures/kitchen.js';
import { Ticker } from '../fixtures/ticker.js';
import { SchemaTree, type SchemaSource } from '../../explorer/src/tree-store.js';
import { fieldSpec, initialParams, inSchemaOrder, pruneUndefined } from '../../explorer/src/form-model.js';
import { clientAccessor, cliCommand, shellQuote, tsLiteral, typescriptSnippet } from '../../explorer/src/snippets.js';
import { propertyRows, typeText } from '../../explorer/src/schema-text.js';
import { REPO_ROOT } from '../support/repo.js';
import { parseInline, parseMarkdown, safeHref, type Inline } from '../../explorer/src/markdown.js';
import { CallHistory, HISTORY_LIMIT } from '../../explorer/src/history.js';
import { counted, ms, num, percent, secondsLeft } from '../../explorer/src/format.js';
import { questionOf } from '../../explorer/src/questions.js';

/** An in-process hub as the tree's source, counting schema requests per path. */
function source(hub: DynamicHub): SchemaSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    schema: async (path?: string) => {
      asked.push(path ?? '<root>');
      return (await hub.schema(path)) as PluginSchema;
    },
    hash: async () => hub.hash(),
  };
}

async function methodParams(hub: DynamicHub, path: string): Promise<MethodSchema['params']> {
  const dot = path.lastIndexOf('.');
  const node = (await hub.schema(path.slice(0, dot))) as PluginSchema;
  return node.methods.find((m) => m.name === path.slice(dot + 1))!.params;
}

describe('explorer: schema tree', () => {
  const hub = new DynamicHub().register(...builtinActivations());

  it('loads one node per request, only when asked; loadPath fetches the ancestors of a deep link', async () => {
    const src = source(hub);
    const tree = new SchemaTree(src, 'plexus');
    await tree.load('plexus');
    assert.deepEqual(src.asked, ['<root>']);
    assert.deepEqual(
      tree.children('plexus').map((c) => c.path),
      ['echo', 'health', 'solar'],
    );
    assert.equal(tree.nodes.get('solar')!.summary!.description, 'The solar system as a nested hub: `solar.earth.luna.info`.');
    await tree.loadPath('solar.earth.luna');
    assert.deepEqual(src.asked, ['<root>', 'solar', 'solar.earth', 'solar.earth.luna']);
    assert.equal(tree.method('solar.earth.luna.info')!.name, 'info');
    assert.equal(tree.method('plexus.hash')!.name, 'hash');
    await Promise.all([tree.load('echo'), tree.load('echo')]);
    assert.equal(src.asked.filter((p) => p === 'echo').length, 1, 'concurrent loads share one request');
  });

  it('search matches paths, descriptions and methods of loaded nodes; loadAll reaches the rest', async () => {
    const tree = new SchemaTree(source(hub), 'plexus');
    await tree.load('plexus');
    assert.equal(tree.search('moon of earth').matches, 0, 'not loaded yet');
    await tree.loadAll();
    const r = tree.search('Moon of EARTH');
    assert.ok(r.visible.has('solar.earth.luna') && r.visible.has('solar.earth') && r.visible.has('solar') && r.visible.has('plexus'));
    assert.ok(!r.visible.has('solar.mars'));
    assert.ok(tree.search('moon of jupiter').visible.has('solar.jupiter.io'));
    assert.deepEqual([...tree.search('echo.once').methods], ['echo.once']);
  });

  it('drift: a changed root hash re-fetches the root and only the loaded nodes whose hash changed', async () => {
    let version = 1;
    const counter = defineActivation({
      namespace: 'counter',
      description: 'changes shape',
      children: () => [
        defineActivation({
          namespace: 'inner',
          description: 'nested',
          methods: { [`v${version}`]: { description: `version ${version}`, handler: () => version } },
        }),
      ],
      methods: { get: { description: 'get it', handler: () => 1 } },
    });
    const own = new DynamicHub().register(...builtinActivations(), counter);
    const src = source(own);
    const tree = new SchemaTree(src, 'plexus');
    await tree.loadPath('counter.inner');
    await tree.load('solar');
    assert.equal(await tree.checkDrift(), undefined, 'no drift, no requests');
    assert.deepEqual(src.asked, ['<root>', 'counter', 'counter.inner', 'solar']);
    const before = tree.rootHash!;

    version = 2; // the nested node's method list changes
    own.unregister('counter');
    own.register(counter);
    own.register(defineActivation({ namespace: 'added', description: 'new', methods: { x: { description: 'x', handler: () => 0 } } }));
    src.asked.length = 0;
    const drift = await tree.checkDrift();
    assert.ok(drift);
    assert.equal(drift.from, before);
    assert.equal(drift.to, own.hash());
    assert.deepEqual(src.asked.sort(), ['<root>', 'counter', 'counter.inner'], 'solar did not change: not fetched again');
    assert.deepEqual([...drift.changed].sort(), ['added', 'counter.inner']);
    assert.ok(tree.method('counter.inner.v2') && !tree.method('counter.inner.v1'));
    assert.equal(tree.nodes.get('counter.inner')!.changed, true);
    assert.equal(tree.nodes.get('solar')!.changed, undefined);

    own.unregister('added');
    const gone = await tree.checkDrift();
    assert.ok(gone!.changed.includes('added'));
    assert.equal(tree.nodes.has('added'), false);
    tree.acknowledgeDrift();
    assert.equal(tree.drift, undefined);
    assert.equal(tree.nodes.get('counter.inner')!.changed, false);
  });

  it('works at any depth, for paths it never saw listed (a mounted hub is just a longer path)', async () => {
    const deep = defineActivation({
      namespace: 'a',
      description: 'a',
      children: () => [
        defineActivation({
          namespace: 'b',
          description: 'b',
          children: () => [
            defineActivation({
              namespace: 'c',
              description: 'c',
              children: () => [
                defineActivation({ namespace: 'd', description: 'd', methods: { go: { description: 'go', handler: () => 1 } } }),
              ],
            }),
          ],
        }),
      ],
    });
    const tree = new SchemaTree(source(new DynamicHub().register(deep)), 'plexus');
    await tree.loadPath('a.b.c.d');
    assert.equal(tree.method('a.b.c.d.go')!.name, 'go');
    assert.equal(tree.parentOf('a.b.c.d'), 'a.b.c');
    assert.equal(tree.parentOf('a'), 'plexus');
  });
});

describe('explorer: form model', () => {
  const hub = new DynamicHub().register(new Kitchen(), new Ticker());

  it('maps each kind of param to its input', async () => {
    const spec = fieldSpec(await methodParams(hub, 'kitchen.everything'));
    assert.ok(spec.field.kind === 'object');
    const props = spec.field.props;
    const kinds = Object.fromEntries(props.map((p) => [p.name, `${p.spec.field.kind}${p.required ? '*' : ''}`]));
    assert.deepEqual(kinds, {
      name: 'string*',
      tags: 'array*',
      point: 'object*',
      color: 'enum*',
      mode: 'enum',
      shape: 'json',
      nested: 'object',
    });
    const color = props.find((p) => p.name === 'color')!.spec.field;
    assert.deepEqual(color.kind === 'enum' && color.options, ['red', 'green'], 'an enum behind a $ref');
  });

  it('starts with defaults, and empty values only for required fields', async () => {
    assert.deepEqual(initialParams(await methodParams(hub, 'ticker.shapes')), {
      name: '',
      point: {},
      count: 3,
      mode: 'slow',
      loud: false,
      tags: [],
    });
    assert.deepEqual(initialParams(await methodParams(hub, 'kitchen.everything')), {
      name: '',
      tags: [],
      point: {},
      color: 'red',
      mode: 'quiet',
    });
    assert.deepEqual(initialParams(undefined), {});
  });

  it('falls back to JSON for what it cannot draw', () => {
    assert.equal(fieldSpec({ type: 'object', additionalProperties: { type: 'number' } }).field.kind, 'json');
    assert.equal(fieldSpec({ type: 'array', items: [{ type: 'string' }, { type: 'number' }] }).field.kind, 'json');
    assert.equal(fieldSpec({ $ref: '#/$defs/Missing' }).field.kind, 'json');
    const tree = {
      $defs: {
        Tree: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/Tree' } } }, required: ['children'] },
      },
      $ref: '#/$defs/Tree',
    };
    assert.equal(fieldSpec(tree).field.kind, 'object', 'recursion is drawn a few levels deep, then JSON');
    assert.deepEqual(fieldSpec({ anyOf: [{ type: 'string' }, { type: 'null' }] }), { field: { kind: 'string' }, nullable: true });
    assert.deepEqual(fieldSpec({ anyOf: [{ const: 'a' }, { const: 'b' }] }).field, { kind: 'enum', options: ['a', 'b'] });
  });

  it('drops undefined (not given) at any depth and keeps the schema order', () => {
    assert.deepEqual(pruneUndefined({ a: 1, b: undefined, c: { d: undefined, e: [1, { f: undefined }] } }), { a: 1, c: { e: [1, {}] } });
    assert.deepEqual(Object.keys(inSchemaOrder({ ms: 5, extra: 1, to: 6 }, { type: 'object', properties: { to: {}, ms: {} } })), [
      'to',
      'ms',
      'extra',
    ]);
  });
});

describe('explorer: snippets and schema text', () => {
  const echoParams = { type: 'object', properties: { message: { type: 'string' }, count: { type: 'number' } } };

  it('writes the hub call command, which the CLI parses back to the same params', () => {
    assert.equal(
      cliCommand('echo.echo', { message: 'hi', count: 2 }, echoParams, 'ws://127.0.0.1:4444'),
      'npx hub call echo.echo --message hi --count 2',
    );
    assert.equal(
      cliCommand('echo.echo', { message: "it's 42" }, echoParams, 'ws://h:1'),
      `npx hub call echo.echo --message 'it'\\''s 42' --url ws://h:1`,
    );
    assert.equal(cliCommand('x.y', { list: [1] }, undefined, 'ws://127.0.0.1:4444'), `npx hub call x.y --json '{"list":[1]}'`);
    const schema = { type: 'object', properties: { s: { type: 'string' }, n: { type: 'number' }, b: { type: 'boolean' } } };
    fc.assert(
      fc.property(
        fc.record({ s: fc.string(), n: fc.double({ noNaN: true, noDefaultInfinity: true }), b: fc.boolean() }, { requiredKeys: [] }),
        (params) => {
          const words = shellWords(cliCommand('x.y', params, schema, 'ws://127.0.0.1:4444')).slice(4);
          const parsed = words[0] === '--json' ? JSON.parse(words[1]!) : paramsFromArgs(words, schema);
          assert.deepEqual(parsed, JSON.parse(JSON.stringify(params)));
        },
      ),
    );
  });

  it('reaches a method the way the generated client names it', () => {
    const methods: Record<string, string[]> = { plexus: ['call', 'hash'], solar: ['info', 'earth'], 'solar.earth': ['info'] };
    const of = (n: string) => methods[n] ?? [];
    assert.equal(clientAccessor('plexus', 'echo.echo', of), 'hub.echo.echo');
    assert.equal(clientAccessor('plexus', 'plexus.hash', of), 'hub.hash');
    assert.equal(clientAccessor('plexus', 'solar.earth.info', of), 'hub.solar.earth_ns.info', 'a child named like a method gets _ns');
    assert.equal(clientAccessor('plexus', 'my-ns.do-it', of), 'hub["my-ns"]["do-it"]');
    const ts = typescriptSnippet({
      accessor: 'hub.echo.once',
      params: { message: 'x' },
      hasParams: true,
      streaming: false,
      url: 'ws://127.0.0.1:4444',
    });
    assert.match(ts, /^console\.log\(await hub\.echo\.once\(\{ message: "x" \}\)\);$/m);
    assert.equal(tsLiteral({ 'a-b': [1, 'two'], c: null }), '{ "a-b": [1, "two"], c: null }');
  });

  it('renders types readably', () => {
    assert.equal(typeText({ type: 'array', items: { $ref: '#/$defs/BodyInfo' } }), 'BodyInfo[]');
    assert.equal(typeText({ enum: ['a', 'b'] }), '"a" | "b"');
    assert.equal(typeText({ type: 'object', additionalProperties: { type: 'number' } }), '{ [key: string]: number }');
    const rows = propertyRows({
      type: 'object',
      properties: { p: { type: 'object', properties: { x: { type: 'number', description: 'across' } }, required: ['x'] } },
      required: ['p'],
    });
    assert.deepEqual(
      rows.map((r) => [r.name, r.depth, r.required, r.type]),
      [
        ['p', 0, true, '{ x }'],
        ['x', 1, true, 'number'],
      ],
    );
    assert.equal(shellQuote('a b'), "'a b'");
  });
});

describe('explorer: snippets against the real code generator', () => {
  it('every method accessor the page shows exists in the client hub codegen generates', async () => {
    const clash = defineActivation({
      namespace: 'clash',
      description: 'a method and a child with one name',
      methods: { inner: { description: 'the method', handler: () => 1 } },
      children: () => [
        defineActivation({ namespace: 'inner', description: 'the child', methods: { go: { description: 'go', handler: () => 2 } } }),
      ],
    });
    const hub = new DynamicHub().register(...builtinActivations(), clash);
    const out = join(REPO_ROOT, 'test', '.tmp', 'explorer-codegen');
    rmSync(out, { recursive: true, force: true });
    await generate({ schema: (path?: string) => hub.schema(path) }, { out });
    const { createClient } = (await import(pathToFileURL(join(out, 'index.ts')).href)) as {
      createClient(o: { url: string }): Record<string, unknown>;
    };
    const client = createClient({ url: 'ws://127.0.0.1:1' }); // never called: only its shape is read
    const tree = new SchemaTree(source(hub), 'plexus');
    await tree.loadAll();
    let checked = 0;
    for (const node of tree.nodes.values()) {
      for (const m of node.schema?.methods ?? []) {
        if (m.hash === 'auto_schema') continue; // the built-in schema method is not in generated clients
        const path = tree.methodPath(node.path, m.name);
        const accessor = clientAccessor('plexus', path, (n) =>
          (tree.nodes.get(n)?.schema?.methods ?? []).filter((x) => x.hash !== 'auto_schema').map((x) => x.name),
        );
        let target: unknown = client;
        for (const [, plain, quoted] of accessor.slice('hub'.length).matchAll(/\.([A-Za-z_$][\w$]*)|\[("(?:[^"\\]|\\.)*")\]/g)) {
          target = (target as Record<string, unknown>)[plain ?? (JSON.parse(quoted!) as string)];
        }
        assert.equal(typeof target, 'function', `${path} → ${accessor}`);
        checked++;
      }
    }
    assert.ok(checked > 30, `${checked} methods checked`);
    assert.equal(
      clientAccessor('plexus', 'clash.inner.go', (n) => (tree.nodes.get(n)?.schema?.methods ?? []).map((x) => x.name)),
      'hub.clash.inner_ns.go',
    );
  });
});

describe('explorer: description markdown', () => {
  it('parses code, strong, emphasis, links, autolinks and bare URLs; snake_case stays text', () => {
    assert.deepEqual(
      parseInline('Run `hub serve`, **now**: see [the docs](https://x.dev/a?b=1) or <https://y.dev>, *really*. my_var_name'),
      [
        { t: 'text', v: 'Run ' },
        { t: 'code', v: 'hub serve' },
        { t: 'text', v: ', ' },
        { t: 'strong', c: [{ t: 'text', v: 'now' }] },
        { t: 'text', v: ': see ' },
        { t: 'link', href: 'https://x.dev/a?b=1', c: [{ t: 'text', v: 'the docs' }] },
        { t: 'text', v: ' or ' },
        { t: 'link', href: 'https://y.dev/', c: [{ t: 'text', v: 'https://y.dev' }] },
        { t: 'text', v: ', ' },
        { t: 'em', c: [{ t: 'text', v: 'really' }] },
        { t: 'text', v: '. my_var_name' },
      ],
    );
    assert.deepEqual(parseInline('at http://a.dev/x.'), [
      { t: 'text', v: 'at ' },
      { t: 'link', href: 'http://a.dev/x', c: [{ t: 'text', v: 'http://a.dev/x' }] },
      { t: 'text', v: '.' },
    ]);
  });

  it('links only to absolute http(s) URLs; anything else is the text as written', () => {
    for (const bad of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'data:text/html,x',
      'vbscript:x',
      '/relative',
      '//host/x',
      'file:///etc/passwd',
    ])
      assert.equal(safeHref(bad), undefined, bad);
    assert.deepEqual(parseInline('[x](javascript:alert(1))'), [{ t: 'text', v: '[x](javascript:alert(1))' }]);
  });

  it('paragraphs and lists', () => {
    assert.deepEqual(parseMarkdown('One\nline.\n\n- a\n- `b`'), [
      { t: 'p', c: [{ t: 'text', v: 'One line.' }] },
      { t: 'ul', items: [[{ t: 'text', v: 'a' }], [{ t: 'code', v: 'b' }]] },
    ]);
  });

  it('never yields a link that is not http(s), and invents no text, for any input', () => {
    const text = (nodes: readonly Inline[]): string => nodes.map((n) => (n.t === 'text' || n.t === 'code' ? n.v : text(n.c))).join('');
    const links = (nodes: readonly Inline[]): string[] =>
      nodes.flatMap((n) => (n.t === 'link' ? [n.href, ...links(n.c)] : n.t === 'strong' || n.t === 'em' ? links(n.c) : []));
    const piece = fc.constantFrom(
      '`',
      '*',
      '_',
      '**',
      '[',
      '](',
      ')',
      '<',
      '>',
      'javascript:',
      'https://a.b/',
      'x',
      ' ',
      '<img onerror=x>',
      'data:',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const nodes = parseInline(parts.join(''));
        for (const href of links(nodes)) assert.match(href, /^https?:\/\//);
        // Markup characters may be consumed; no text is invented.
        const letters = (s: string) => s.replace(/[`*_[\]()<>\s]/g, '');
        assert.ok(letters(text(nodes)).length <= letters(parts.join('')).length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('explorer: call history', () => {
  const memory = () => {
    const data = new Map<string, string>();
    return { data, getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
  };

  it('keeps the last 50 calls, newest first; the same call again moves to the top', () => {
    const store = memory();
    const history = new CallHistory(store);
    for (let i = 0; i < 60; i++) history.add('echo.echo', { message: `m${i}` }, 1000 + i);
    assert.equal(history.entries.length, HISTORY_LIMIT);
    assert.deepEqual(history.entries[0]!.params, { message: 'm59' });
    assert.deepEqual(history.entries.at(-1)!.params, { message: 'm10' });
    history.add('echo.echo', { message: 'm30' }, 2000);
    assert.equal(history.entries.length, HISTORY_LIMIT);
    assert.deepEqual(
      history.entries.slice(0, 2).map((e) => e.params.message),
      ['m30', 'm59'],
    );
    history.setStatus(history.entries[0]!, 'done');
    const reloaded = new CallHistory(store);
    assert.deepEqual(reloaded.entries, history.entries, 'read back as written');
    assert.equal(reloaded.entries[0]!.status, 'done');
  });

  it('a storage holding garbage, or refusing writes, costs the history and nothing else', () => {
    const store = memory();
    store.data.set('plexus-explorer.history', '{not json');
    assert.deepEqual(new CallHistory(store).entries, []);
    store.data.set('plexus-explorer.history', JSON.stringify([{ path: 'a.b', params: {}, at: 1 }, { path: 3 }, null, 'x']));
    assert.deepEqual(new CallHistory(store).entries, [{ path: 'a.b', params: {}, at: 1 }]);
    const full = new CallHistory({
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    });
    full.add('a.b', { x: 1 });
    assert.equal(full.entries.length, 1, 'kept in memory for this page');
    assert.equal(new CallHistory(undefined).add('a.b', { big: 'x'.repeat(30_000) }), undefined, 'huge params are not kept');
  });
});

describe('explorer: number format and questions', () => {
  it('formats every number one way', () => {
    assert.equal(counted(1, 'item'), '1 item');
    for (const [n, text] of [
      [87.97, '87.97'],
      [0.1 + 0.2, '0.30000000000000004'],
      [-1234.5678, '-1,234.5678'],
      [1733300000, '1,733,300,000'],
      [3.285e23, '3.285E23'],
      [1e-7, '1E-7'],
      [0, '0'],
    ] as const)
      assert.equal(num(n), text, String(n));
    assert.equal(counted(12345, 'item'), '12,345 items');
    assert.equal(ms(1234.4), '1,234 ms');
    assert.equal(percent(33.333), '33%');
    assert.equal(secondsLeft(1001), '2 s');
    assert.equal(secondsLeft(-5), '0 s');
  });

  it('reads ctx.request questions; other request data is shown as JSON and answered as any JSON', () => {
    const q = questionOf(
      {
        requestId: 'r1',
        data: { prompt: 'Sure?', schema: { type: 'boolean' } },
        timeoutMs: 500,
        path: 'a.b',
        signal: new AbortController().signal,
      },
      100,
    );
    assert.deepEqual(q, { requestId: 'r1', prompt: 'Sure?', schema: { type: 'boolean' }, timeoutMs: 500, deadline: 600 });
    const odd = questionOf(
      { requestId: 'r2', data: { type: 'confirm', message: 'x' }, timeoutMs: 5, path: 'a.b', signal: new AbortController().signal },
      0,
    );
    assert.equal(odd.prompt, '{"type":"confirm","message":"x"}');
    assert.equal(odd.schema, undefined);
  });
});

describe('explorer: bundle', () => {
  it('is under 100 KB gzipped', (t) => {
    const dir = explorerDir();
    const files = [
      join(dir, 'index.html'),
      ...readdirSync(join(dir, 'assets'))
        .filter((f) => !f.endsWith('.map'))
        .map((f) => join(dir, 'assets', f)),
    ];
    const gz = files.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
    t.diagnostic(`explorer bundle: ${files.length} files, ${(gz / 1024).toFixed(1)} KB gzipped`);
    assert.ok(gz < 100 * 1024, `${gz} bytes gzipped`);
  });
});

/** Splits a command line the way a POSIX shell does for our quoting (plain words and '…' with '\''). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '\\') {
      word += line[++i];
      inWord = true;
    } else if (c === ' ') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
