import { describe, it, before, after } from 'node:test';
import { typecheckStrict } from '../support/helpers.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DynamicHub, type PluginSchema, type MethodSchema } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { builtinActivations } from '../../activations/index.js';
import {
  buildIr,
  emitTypeScript,
  emitters,
  irJson,
  generate,
  type IrMethod,
  type IrNamespace,
  type SchemaSource,
} from '../../codegen/index.js';
import { REPO_ROOT as root } from '../support/repo.js';

const run = promisify(execFile);
const tmp = join(root, 'test', '.tmp', `codegen-${process.pid}`);
const golden = join(root, 'test', 'golden', 'codegen');
mkdirSync(tmp, { recursive: true });
after(() => rmSync(tmp, { recursive: true, force: true }));

const hubSource = (hub: DynamicHub): SchemaSource => ({ schema: (p) => hub.schema(p) });

async function runProgram(file: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', file], { cwd: root, env: { ...process.env, ...env } });
}

describe('codegen: golden IR and emitted code of the built-in activations', () => {
  it('matches the golden files (UPDATE_GOLDEN=1 writes them) and is byte-for-byte deterministic', async () => {
    const hub = new DynamicHub().register(...builtinActivations());
    const ir = await buildIr(hubSource(hub));
    const files = await emitTypeScript(ir);
    const again = await emitTypeScript(await buildIr(hubSource(new DynamicHub().register(...builtinActivations()))));
    assert.deepEqual(again, files);
    const outputs: Record<string, string> = { 'ir.json': irJson(ir) };
    for (const f of files) if (['types.ts', 'client.ts', 'index.ts', 'package.json'].includes(f.path)) outputs[f.path] = f.content;
    for (const [name, content] of Object.entries(outputs)) {
      const file = join(golden, `${name}.golden`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, content);
      assert.ok(existsSync(file), `test/golden/codegen/${name}.golden is missing: run with UPDATE_GOLDEN=1 to write it`);
      assert.equal(content, readFileSync(file, 'utf8'), `${name} differs from test/golden/codegen/${name}.golden`);
    }
  });

  it('deduplicates named types across methods: BodyInfo is one type used by every info method', async () => {
    const ir = await buildIr(hubSource(new DynamicHub().register(...builtinActivations())));
    assert.ok(ir.types.BodyInfo);
    assert.equal(Object.keys(ir.types).filter((k: string) => k.startsWith('BodyInfo')).length, 1);
    const luna = ir.tree.children.find((c) => c.namespace === 'solar')!.children.find((c) => c.namespace === 'earth')!.children[0]!;
    assert.deepEqual(luna.methods[0]!.item, { $ref: '#/$defs/BodyInfo' });
    const infos = (ns: IrNamespace): IrMethod[] => [...ns.methods.filter((m) => m.name === 'info'), ...ns.children.flatMap(infos)];
    assert.ok(infos(ir.tree).length > 20);
    for (const m of infos(ir.tree)) assert.deepEqual(m.item, { $ref: '#/$defs/BodyInfo' }, m.path);
  });
});

describe('codegen: emitter table', () => {
  it('offers typescript and python and refuses an unknown language by name', async () => {
    assert.deepEqual(Object.keys(emitters), ['typescript', 'python']);
    await assert.rejects(
      generate(oddSource(), { out: join(tmp, 'cobol'), lang: 'cobol' as never }),
      /Unknown language "cobol": choose one of typescript, python/,
    );
    assert.equal(existsSync(join(tmp, 'cobol')), false);
    const cli = run(
      process.execPath,
      [join(root, 'bin', 'hub.js'), 'codegen', '--lang', 'cobol', '--url', 'ws://127.0.0.1:1', '--out', join(tmp, 'cobol')],
      { cwd: root },
    );
    await assert.rejects(
      cli,
      (e: { code: number; stderr: string }) =>
        e.code === 1 && /hub: Unknown language "cobol": choose one of typescript, python/.test(e.stderr),
    );
  });
});

/** A hand-made schema tree with every awkward case the emitter must survive. */
function oddSource(): SchemaSource {
  const m = (name: string, extra: Partial<MethodSchema> = {}): MethodSchema => ({
    name,
    description: `${name} method`,
    hash: '0000000000000000',
    returns: { type: 'string' },
    streaming: false,
    bidirectional: false,
    ...extra,
  });
  const obj = (props: Record<string, unknown>, required: string[] = Object.keys(props)) => ({
    type: 'object',
    properties: props,
    required,
    additionalProperties: false,
  });
  const plugin = (namespace: string, methods: MethodSchema[], children?: PluginSchema[]): PluginSchema => ({
    namespace,
    version: '1.0.0',
    description: `${namespace} */ with a comment closer`,
    self_hash: '1111111111111111',
    hash: '2222222222222222',
    methods: [...methods, { name: 'schema', description: '', hash: 'auto_schema', streaming: false, bidirectional: false }],
    ...(children ? { children: children.map((c) => ({ namespace: c.namespace, description: c.description, hash: c.hash })) } : {}),
  });
  const kebab = plugin('kebab-case', [
    m('delete'),
    m('tree_create', { params: { ...obj({ opts: { $ref: '#/$defs/Options' } }), $defs: { Options: obj({ depth: { type: 'number' } }) } } }),
    m('class', { params: { ...obj({ opts: { $ref: '#/$defs/Options' } }), $defs: { Options: obj({ color: { type: 'string' } }) } } }),
  ]);
  const tree = plugin(
    'tree',
    [
      m('node', {
        returns: {
          title: 'Node',
          ...obj({ children: { type: 'array', items: { $ref: '#/$defs/Node' } } }),
          $defs: { Node: obj({ children: { type: 'array', items: { $ref: '#/$defs/Node' } } }) },
        },
      }),
      m('promise', { returns: { title: 'Promise', ...obj({ then: { type: 'string' } }) } }),
      m('stream', { streaming: true, params: obj({ n: { type: 'integer' } }, []) }),
      m('leaf'),
    ],
    [plugin('leaf', [m('info')])],
  );
  const rootSchema = plugin('odd', [m('hash')], [kebab, tree]);
  const byPath: Record<string, PluginSchema> = { 'kebab-case': kebab, tree, 'tree.leaf': plugin('leaf', [m('info')]) };
  return { schema: async (p) => (p ? byPath[p]! : rootSchema) };
}

describe('codegen: awkward names and types', () => {
  it('handles reserved words, odd identifiers, colliding names, recursive types, global shadowing and no-param methods', async () => {
    const out = join(tmp, 'odd');
    const { ir } = await generate(oddSource(), { out, emitIr: true });
    assert.deepEqual(Object.keys(ir.types).sort(), ['Node', 'Options', 'Options2', 'Promise']);
    const client = readFileSync(join(out, 'client.ts'), 'utf8');
    assert.match(client, /"kebab-case": \{/);
    assert.match(client, /leaf_ns: \{/);
    assert.doesNotMatch(client, /\*\/ with a comment closer/);
    const types = readFileSync(join(out, 'types.ts'), 'utf8');
    assert.match(types, /export interface PromiseType \{/);
    assert.match(types, /children: Node\[\];/);
    writeFileSync(
      join(out, 'use.ts'),
      `import { createClient } from './index.js';
import type { Node, PromiseType } from './types.js';
const c = createClient({ url: 'ws://127.0.0.1:1' });
export async function use(): Promise<void> {
  const d: string = await c['kebab-case'].delete();
  const t: string = await c['kebab-case'].tree_create({ opts: { depth: 1 } });
  const k: string = await c['kebab-case'].class({ opts: { color: 'red' } });
  const n: Node = await c.tree.node();
  const p: PromiseType = await c.tree.promise();
  for await (const s of c.tree.stream()) s.toUpperCase();
  for await (const s of c.tree.stream({ n: 2 })) s.toUpperCase();
  const l: string = await c.tree.leaf();
  const i: string = await c.tree.leaf_ns.info();
  const h: string = await c.hash();
  void [d, t, k, n, p, l, i, h];
}
`,
    );
    await typecheckStrict(join(out, 'use.ts'));
  });
});

describe('codegen end to end against a live hub serve', () => {
  let server: PlexusServer;
  const out = join(tmp, 'live', 'client');
  before(async () => {
    server = await serveWebSocket(new DynamicHub().register(...builtinActivations()), { port: 0 });
  });
  after(() => server.close({ graceMs: 0 }));

  it('hub codegen --url writes a client that compiles strictly and calls unary, streaming and nested methods', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(root, 'bin', 'hub.js'), 'codegen', '--url', server.url, '--out', out, '--emit-ir'],
      { cwd: root },
    );
    assert.match(stdout, /wrote types\.ts, client\.ts, .*ir\.json/);
    assert.match(stderr, /codegen: 26 activations read/);
    const program = join(tmp, 'live', 'main.ts');
    writeFileSync(
      program,
      `import { createClient, PlexusError, type EchoEvent, type BodyInfo } from './client/index.js';
const client = createClient({ url: process.env.HUB_URL!, onDrift: 'throw' });
const once: EchoEvent = await client.echo.once({ message: 'typed' });
const streamed: number[] = [];
for await (const e of client.echo.echo({ message: 'x', count: 3 })) streamed.push(e.seq);
const luna: BodyInfo = await client.solar.earth.luna.info();
const moons: string[] = [];
for await (const b of client.solar.observe({ body_type: 'moon' })) moons.push(b.name);
let error = '';
try {
  // @ts-expect-error: message is required by the generated params type
  await client.echo.once({});
} catch (e) {
  if (e instanceof PlexusError) error = \`\${e.code} \${e.message}\`;
}
console.log(JSON.stringify({ once, streamed, luna: luna.name, moons: moons.length, error }));
client.$close();
`,
    );
    await typecheckStrict(program);
    const result = JSON.parse((await runProgram(program, { HUB_URL: server.url })).stdout);
    assert.deepEqual(result, {
      once: { message: 'typed', seq: 1 },
      streamed: [1, 2, 3],
      luna: 'Luna',
      moons: 14,
      error: "-32602 Invalid params: missing required param 'message'",
    });
  });

  it('a changed method signature changes the hash and the types; the old client reports drift', async () => {
    const modules = join(tmp, 'drift');
    mkdirSync(modules, { recursive: true });
    const write = (name: string, signature: string) => {
      writeFileSync(
        join(modules, `${name}.ts`),
        `import { activation, method } from '../../../../src/index.js';
/** Greets. */
@activation('greeter')
export class Greeter {
  /** Say hello. */
  @method()
  ${signature} { return \`hello \${name}\`; }
}
`,
      );
      return join(modules, `${name}.ts`);
    };
    const hubOf = async (file: string) => new DynamicHub().register(new (await import(pathToFileURL(file).href)).Greeter());
    const v1 = await hubOf(write('v1', 'greet(name: string): string'));
    const v2 = await hubOf(write('v2', 'greet(name: string, loud = false): string'));
    const old = await generate(hubSource(v1), { out: join(modules, 'client') });
    const fresh = await buildIr(hubSource(v2));
    assert.notEqual(fresh.hash, old.ir.hash);
    const typesOf = async (ir: typeof fresh) => (await emitTypeScript(ir)).find((f) => f.path === 'types.ts')!.content;
    assert.doesNotMatch(await typesOf(old.ir), /loud/);
    assert.match(await typesOf(fresh), /loud\?: boolean;/);

    const v2Server = await serveWebSocket(v2, { port: 0 });
    try {
      const program = join(modules, 'old.ts');
      writeFileSync(
        program,
        `import { createClient, SchemaDriftError } from './client/index.js';
const warned = createClient({ url: process.env.HUB_URL! });
console.log(await warned.greeter.greet({ name: 'a' }));
warned.$close();
const strict = createClient({ url: process.env.HUB_URL!, onDrift: 'throw' });
try {
  await strict.greeter.greet({ name: 'b' });
} catch (e) {
  console.log(e instanceof SchemaDriftError ? 'drift-error' : String(e));
}
strict.$close();
`,
      );
      const { stdout, stderr } = await runProgram(program, { HUB_URL: v2Server.url });
      assert.deepEqual(stdout.trim().split('\n'), ['hello a', 'drift-error']);
      assert.match(stderr, new RegExp(`Schema drift: this client was generated for hash ${old.ir.hash}, the server has ${fresh.hash}`));
    } finally {
      await v2Server.close({ graceMs: 0 });
    }
  });
});
