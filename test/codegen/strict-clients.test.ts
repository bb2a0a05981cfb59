// The generated clients of the live hub with every activation pass the strictest checkers
// their users run: the Python package `mypy --strict` and `pyright --strict`, the TypeScript
// package `tsc --strict` plus the flags beyond it. Each program is also run against the hub,
// so what type-checks is what works.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { STRICTER_TSC_FLAGS, typecheckStrict } from '../support/helpers.js';
import { startHub, type HubProcess } from '../support/hub-process.js';
import { mypy, mypyStrict, pyrightStrict, python, runPython } from '../support/python.js';
import { HUB_BIN, REPO_ROOT as root } from '../support/repo.js';

const run = promisify(execFile);
const tmp = join(root, 'test', '.tmp', `strict-clients-${process.pid}`);

describe('generated clients of the hub with every activation, under the strictest checkers', () => {
  let hub: HubProcess;
  before(async () => {
    mkdirSync(tmp, { recursive: true });
    hub = await startHub({ args: ['--with', 'arbor,changelog,mustache,cone,bash,claudecode', '--data-dir', join(tmp, 'data')] });
  });
  after(async () => {
    await hub?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the TypeScript client compiles with --exactOptionalPropertyTypes --noUncheckedIndexedAccess --noPropertyAccessFromIndexSignature', async () => {
    const dir = join(tmp, 'ts');
    await run(process.execPath, [HUB_BIN, 'codegen', '--url', hub.url, '--out', join(dir, 'client')], { cwd: root });
    const program = join(dir, 'main.ts');
    writeFileSync(
      program,
      `import { createClient, type EchoEvent, type QueueAdded } from './client/index.js';
const client = createClient({ url: process.env['HUB_URL'] ?? '', onDrift: 'throw' });
const once: EchoEvent = await client.echo.once({ message: 'strict' });
const seqs: number[] = [];
for await (const e of client.echo.echo({ message: 'x', count: 2 })) seqs.push(e.seq);
const queued: QueueAdded = await client.changelog.queue_add({ description: 'strict flags', tags: ['codegen'] });
const untagged: QueueAdded = await client.changelog.queue_add({ description: 'no tags' });
console.log(JSON.stringify([once.message, seqs, queued.entry.tags, untagged.type]));
client.$close();
`,
    );
    await typecheckStrict(program, STRICTER_TSC_FLAGS);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', program], { cwd: root, env: { ...process.env, HUB_URL: hub.url } });
    assert.deepEqual(JSON.parse(stdout), ['strict', [1, 2], ['codegen'], 'queue_added']);
    // The flags really apply: an unchecked index into an array is refused.
    writeFileSync(program, `const xs: number[] = [];\nconst n: number = xs[0];\nexport { n };\n`);
    await assert.rejects(typecheckStrict(program, STRICTER_TSC_FLAGS), /TS2322/);
  });

  it('the Python package passes mypy --strict and pyright --strict, a namespace with a `list` method included', {
    skip: python.skip ?? mypy.skip,
  }, async () => {
    const dir = join(tmp, 'py');
    await run(process.execPath, [HUB_BIN, 'codegen', '--lang', 'python', '--url', hub.url, '--out', join(dir, 'strict_client')], {
      cwd: root,
    });
    writeFileSync(
      join(dir, 'main.py'),
      `import asyncio
import json
import sys

from strict_client import EchoEvent, Entries, HubClient, QueueAdded


async def main() -> None:
    async with HubClient(sys.argv[1], on_drift="throw") as hub:
        once: EchoEvent = await hub.echo.once(message="strict")
        seqs: list[float] = [e["seq"] async for e in hub.echo.echo(message="x", count=2)]
        queued: QueueAdded = await hub.changelog.queue_add(description="strict flags", tags=["codegen"])
        entries: Entries = await hub.changelog.list()
        print(json.dumps([once["message"], seqs, queued["entry"].get("tags"), entries["type"]]))


asyncio.run(main())
`,
    );
    await mypyStrict(dir, ['strict_client', 'main.py']);
    await pyrightStrict(dir);
    const { stdout } = await runPython('main.py', [hub.url], dir);
    assert.deepEqual(JSON.parse(stdout), ['strict', [1, 2], ['codegen'], 'entries']);
    // mypy really checks the generated signatures: a unary result is its item type, not Any.
    writeFileSync(
      join(dir, 'main.py'),
      `from strict_client import HubClient\n\n\nasync def use(hub: HubClient) -> int:\n    return await hub.echo.once(message="x")\n`,
    );
    await assert.rejects(
      mypyStrict(dir, ['strict_client', 'main.py']),
      /Incompatible return value type \(got "EchoEvent", expected "int"\)/,
    );
  });
});
