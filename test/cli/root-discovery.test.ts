/**
 * Clients find a hub's root name from `_info` (a hub served with `--root substrate`
 * has `substrate.call`, not `plexus.call`): PlexusClient, `hub call|schema|codegen`
 * and the generated TypeScript and Python clients; `--root` / `root` skip the question.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PlexusClient, PlexusError } from '../../src/index.js';
import { runHubCli, startHub, type HubProcess } from '../support/hub-process.js';
import { python, runPython } from '../support/python.js';
import { REPO_ROOT } from '../support/repo.js';

const run = promisify(execFile);
const tmp = join(REPO_ROOT, 'test', '.tmp', `root-discovery-${process.pid}`);

const hub = (args: string[]) => runHubCli(args);

describe('root discovery against a hub served with --root substrate', () => {
  let server: HubProcess;
  before(async () => {
    mkdirSync(tmp, { recursive: true });
    server = await startHub({ args: ['--root', 'substrate'] });
  });
  after(async () => {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('PlexusClient without a root asks _info once and calls <root>.call, .schema and .hash', async () => {
    const client = new PlexusClient({ url: server.url });
    try {
      assert.deepEqual(await client.collect('echo.echo', { message: 'hi', count: 2 }), [
        { message: 'hi', seq: 1 },
        { message: 'hi', seq: 2 },
      ]);
      assert.equal(client.root, 'substrate');
      assert.equal(await client.rootName(), 'substrate');
      const schema = await client.schema();
      assert.equal((schema as { namespace: string }).namespace, 'substrate');
      assert.match(await client.hash(), /^[0-9a-f]{16}$/);
    } finally {
      client.close();
    }
  });

  it('a given root is used as is (no discovery): the wrong one fails with Method not found', async () => {
    const client = new PlexusClient({ url: server.url, root: 'plexus', connectAttempts: 1 });
    try {
      await assert.rejects(client.collect('echo.once', { message: 'x' }), (e: unknown) => {
        assert.ok(e instanceof PlexusError);
        assert.match(e.message, /Method not found: plexus\.call/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('hub call and hub schema work without --root; --root plexus is used as given', async () => {
    const called = await hub(['call', 'echo.once', '--message', 'sub', '--url', server.url]);
    assert.equal(called.code, 0, called.stderr);
    assert.deepEqual(JSON.parse(called.stdout), { message: 'sub', seq: 1 });

    const tree = await hub(['schema', '--url', server.url]);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /^substrate\b/m);
    assert.match(tree.stdout, /^ {2}echo\b/m);

    const method = await hub(['schema', 'echo.once', '--json', '--url', server.url]);
    assert.equal(method.code, 0, method.stderr);
    assert.equal(JSON.parse(method.stdout).name, 'once');

    const wrong = await hub(['call', 'echo.once', '--message', 'x', '--root', 'plexus', '--url', server.url]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Method not found: plexus\.call/);

    const right = await hub(['call', 'echo.once', '--message', 'x', '--root', 'substrate', '--url', server.url]);
    assert.equal(right.code, 0, right.stderr);
  });

  it('hub codegen reads the tree, and the generated TypeScript client finds the root itself', async () => {
    const out = join(tmp, 'ts', 'client');
    const generated = await hub(['codegen', '--url', server.url, '--out', out]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stderr, /codegen: \d+ activations read/);
    const program = join(tmp, 'ts', 'main.ts');
    writeFileSync(
      program,
      `import { createClient } from './client/index.js';
const client = createClient({ url: process.env.HUB_URL!, onDrift: 'throw' });
const once = await client.echo.once({ message: 'generated' });
console.log(JSON.stringify({ once, root: client.$rpc.root }));
client.$close();
`,
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', program], {
      cwd: REPO_ROOT,
      env: { ...process.env, HUB_URL: server.url },
    });
    assert.deepEqual(JSON.parse(stdout), { once: { message: 'generated', seq: 1 }, root: 'substrate' });
  });

  it('the generated Python client finds the root itself; root= skips the question', { skip: python.skip }, async () => {
    const dir = join(tmp, 'py');
    const generated = await hub(['codegen', '--lang', 'python', '--url', server.url, '--out', join(dir, 'sub_client')]);
    assert.equal(generated.code, 0, generated.stderr);
    writeFileSync(
      join(dir, 'main.py'),
      `import asyncio
import json
import sys

from sub_client import HubClient, PlexusCallError
from sub_client._runtime import PlexusRpcError


async def main() -> None:
    out: dict[str, object] = {}
    async with HubClient(sys.argv[1], on_drift="throw") as hub:
        out["once"] = await hub.echo.once(message="py")
        out["root"] = hub.rpc.root
    async with HubClient(sys.argv[1], root="plexus", on_drift="ignore") as wrong:
        try:
            await wrong.echo.once(message="py")
        except (PlexusRpcError, PlexusCallError) as err:
            out["wrong"] = str(err)
    print(json.dumps(out))


asyncio.run(main())
`,
    );
    const { stdout } = await runPython('main.py', [server.url], dir);
    const out = JSON.parse(stdout);
    assert.deepEqual(out.once, { message: 'py', seq: 1 });
    assert.equal(out.root, 'substrate');
    assert.match(out.wrong, /plexus\.(call|hash)/);
  });
});
