import { describe, it, before, after } from 'node:test';
import { typecheckStrict } from '../support/helpers.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamicHub, serveWebSocket, type PlexusServer } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { REPO_ROOT as root } from '../support/repo.js';

const run = promisify(execFile);
const tmp = join(root, 'test', '.tmp', `arbor-codegen-${process.pid}`);

describe('hub codegen: a typed client for arbor', () => {
  let server: PlexusServer;
  let arbor: Arbor;
  before(async () => {
    mkdirSync(tmp, { recursive: true });
    arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    server = await serveWebSocket(new DynamicHub().register(arbor), { port: 0 });
  });
  after(async () => {
    await server.close({ graceMs: 0 });
    arbor.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('compiles strictly and calls arbor end to end, typed items and named error codes included', async () => {
    await run(process.execPath, [join(root, 'bin', 'hub.js'), 'codegen', '--url', server.url, '--out', join(tmp, 'client')], { cwd: root });
    const program = join(tmp, 'main.ts');
    writeFileSync(
      program,
      `import { createClient, PlexusError, type Tree } from './client/index.js';
const client = createClient({ url: process.env.HUB_URL!, onDrift: 'throw' });
const created = await client.arbor.tree_create({ owner_id: 'codegen', metadata: { title: 'typed' } });
const tree_id: string = created.tree_id;
const tree: Tree = (await client.arbor.tree_get({ tree_id })).tree;
const a = await client.arbor.node_create_text({ tree_id, parent: tree.root, content: 'hello' });
const b = await client.arbor.node_create_external({ tree_id, parent: a.node_id, handle: { plugin_id: '11429815-0a5e-5fcc-baf2-842ab3666e77', version: '1.0.0', method: 'chat' } });
const path = await client.arbor.context_get_path({ tree_id, node_id: b.node_id });
const contents = path.nodes.map((n) => (n.data.type === 'text' ? n.data.content : n.data.handle.method));
const render = (await client.arbor.tree_render({ tree_id })).render;
let error = '';
try {
  await client.arbor.tree_get({ tree_id: '00000000-0000-4000-8000-000000000000' });
} catch (e) {
  if (e instanceof PlexusError) error = String(e.code);
}
// @ts-expect-error: owner_id is required by the generated params type
void (() => client.arbor.tree_create({}));
console.log(JSON.stringify({ type: created.type, contents, render, error }));
client.$close();
`,
    );
    await typecheckStrict(program);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', program], {
      cwd: root,
      env: { ...process.env, HUB_URL: server.url },
    });
    assert.deepEqual(JSON.parse(stdout), {
      type: 'tree_created',
      contents: ['', 'hello', 'chat'],
      render: '└── \n    └── hello\n        └── [11429815-0a5e-5fcc-baf2-842ab3666e77@1.0.0::chat]\n',
      error: 'arbor.tree_not_found',
    });
  });
});
