import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamicHub, type MethodSchema, type PluginSchema } from '../../src/index.js';
import { builtinActivations } from '../../activations/index.js';
import { buildIr, type CodegenIR, type SchemaSource } from '../../codegen/index.js';
import { emitPython } from '../../codegen/python/emit.js';
import { mypy, mypyStrict, pyrightStrict, python, runPython } from '../support/python.js';
import { REPO_ROOT as root } from '../support/repo.js';
import { startHub } from '../support/hub-process.js';

const run = promisify(execFile);
const HUB = join(root, 'bin', 'hub.js');
const tmp = join(root, 'test', '.tmp', `codegen-python-${process.pid}`);
const golden = join(root, 'test', 'golden', 'codegen-python');
mkdirSync(tmp, { recursive: true });
after(() => rmSync(tmp, { recursive: true, force: true }));

const hubSource = (hub: DynamicHub): SchemaSource => ({ schema: (p) => hub.schema(p) });

async function writePackage(ir: CodegenIR, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const f of await emitPython(ir)) writeFileSync(join(dir, f.path), f.content);
}

const serve = (args: string[]) => startHub({ args });

describe('codegen --lang python: golden output of the built-in activations', () => {
  it('matches the golden files (UPDATE_GOLDEN=1 rewrites them) and is byte-for-byte deterministic', async () => {
    const ir = await buildIr(hubSource(new DynamicHub().register(...builtinActivations())));
    const files = await emitPython(ir);
    assert.deepEqual(await emitPython(await buildIr(hubSource(new DynamicHub().register(...builtinActivations())))), files);
    assert.deepEqual(
      files.map((f) => f.path),
      ['__init__.py', 'models.py', 'client.py', '_runtime.py', 'py.typed', 'requirements.txt'],
    );
    mkdirSync(golden, { recursive: true });
    for (const f of files.filter((x) => ['__init__.py', 'models.py', 'client.py'].includes(x.path))) {
      const file = join(golden, `${f.path}.golden`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, f.content);
      assert.ok(existsSync(file), `test/golden/codegen-python/${f.path}.golden is missing: run with UPDATE_GOLDEN=1 to write it`);
      assert.equal(f.content, readFileSync(file, 'utf8'), `${f.path} differs from test/golden/codegen-python/${f.path}.golden`);
    }
    const models = files.find((f) => f.path === 'models.py')!.content;
    // One BodyInfo for every info method; optional fields are NotRequired; string unions are Literals.
    assert.equal(models.match(/^class BodyInfo\(TypedDict\):/gm)?.length, 1);
    assert.match(models, /parent: NotRequired\[str\]/);
    assert.match(models, /^BodyType: TypeAlias = Literal\["dwarf_planet", "moon", "planet", "star"\]$/m);
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
    description: `${namespace} """ closes a docstring\\`,
    self_hash: '1111111111111111',
    hash: '2222222222222222',
    methods: [...methods, { name: 'schema', description: '', hash: 'auto_schema', streaming: false, bidirectional: false }],
    ...(children ? { children: children.map((c) => ({ namespace: c.namespace, description: c.description, hash: c.hash })) } : {}),
  });
  const json = {
    anyOf: [
      { type: 'string' },
      { type: 'array', items: { $ref: '#/$defs/Json' } },
      { type: 'object', additionalProperties: { $ref: '#/$defs/Json' } },
    ],
  };
  const kebab = plugin('kebab-case', [
    m('delete'),
    m('tree_create', { params: { ...obj({ opts: { $ref: '#/$defs/Options' } }), $defs: { Options: obj({ depth: { type: 'number' } }) } } }),
    m('class', {
      params: {
        ...obj(
          {
            opts: { $ref: '#/$defs/Options' },
            from: { type: 'string' },
            'kebab-arg': { type: 'integer' },
            kebab_arg: { type: 'boolean' },
            self: { type: 'string' },
          },
          ['opts'],
        ),
        $defs: { Options: obj({ color: { type: 'string' } }) },
      },
    }),
    m('list', {
      returns: {
        title: 'Weird',
        ...obj({ class: { type: 'string' }, str: { type: 'number' }, 'a-b': { type: ['string', 'null'] } }, ['class']),
      },
    }),
    m('str', {
      params: obj({ x: { type: 'string' }, y: { anyOf: [{ type: 'integer' }, { $ref: '#/$defs/Json' }] } }, ['x']),
      returns: { $ref: '#/$defs/Json', $defs: { Json: json } },
    }),
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
      m('error', { returns: { title: 'Exception', ...obj({ then: { type: 'string' } }) } }),
      m('stream', { streaming: true, params: obj({ n: { type: 'integer' } }, []) }),
      m('leaf'),
    ],
    [plugin('leaf', [m('info')])],
  );
  const rpc = plugin('rpc', [m('x')]);
  const rootSchema = plugin('odd', [m('hash'), m('close')], [kebab, tree, rpc]);
  const byPath: Record<string, PluginSchema> = { 'kebab-case': kebab, tree, 'tree.leaf': plugin('leaf', [m('info')]), rpc };
  return { schema: async (p) => (p ? byPath[p]! : rootSchema) };
}

describe('codegen --lang python: awkward names and types', () => {
  it('renames keywords, odd identifiers and collisions, keeps recursive types, and type-checks strictly', async () => {
    const dir = join(tmp, 'odd');
    await writePackage(await buildIr(oddSource()), join(dir, 'odd_client'));
    const models = readFileSync(join(dir, 'odd_client', 'models.py'), 'utf8');
    // A TypedDict whose keys are not identifiers (or shadow `str`) uses the functional syntax.
    assert.match(
      models,
      /^Weird = TypedDict\("Weird", \{"class": str, "str": NotRequired\[float\], "a-b": NotRequired\[Union\[str, None\]\]\}\)$/m,
    );
    assert.match(models, /^Json: TypeAlias = Union\[str, list\["Json"\], dict\[str, "Json"\]\]$/m);
    assert.match(models, /^class ExceptionType\(TypedDict\):/m, 'a type named like a builtin is renamed');
    assert.match(models, /children: list\[Node\]/);
    const client = readFileSync(join(dir, 'odd_client', 'client.py'), 'utf8');
    assert.match(client, /"kebab-arg": kebab_arg, "kebab_arg": kebab_arg2, "self": self_/);
    assert.doesNotMatch(client, /""" closes/);
    writeFileSync(
      join(dir, 'use.py'),
      `from odd_client import ExceptionType, HubClient, Json, Node, Weird


async def use() -> None:
    c = HubClient("ws://127.0.0.1:1")
    d: str = await c.kebab_case.delete()
    t: str = await c.kebab_case.tree_create(opts={"depth": 1})
    k: str = await c.kebab_case.class_(opts={"color": "red"}, from_="x", kebab_arg=1, kebab_arg2=True, self_="s")
    w: Weird = await c.kebab_case.list()
    j: Json = await c.kebab_case.str(x="a", y=[["b"], {"k": "v"}])
    n: Node = await c.tree.node()
    e: ExceptionType = await c.tree.error()
    async for s in c.tree.stream():
        s.upper()
    leaf: str = await c.tree.leaf()
    info: str = await c.tree.leaf_ns.info()
    h: str = await c.hash()
    closed: str = await c.close_()
    x: str = await c.rpc_.x()
    await c.close()
    print(d, t, k, w["class"], w.get("a-b"), j, n, e["then"], leaf, info, h, closed, x)
`,
    );
    await pyrightStrict(dir);
    // mypy too: \`list\` and \`str\` are methods of kebab_case, so its signatures spell the builtins \`builtins.list\`.
    assert.match(client, /^import builtins$/m);
    if (!mypy.skip) await mypyStrict(dir, ['odd_client', 'use.py']);
    // And a wrong call is caught: the checker really checks the generated signatures.
    writeFileSync(
      join(dir, 'use.py'),
      `from odd_client import HubClient\n\n\nasync def use() -> None:\n    await HubClient().kebab_case.tree_create(opts={"depth": "deep"})\n`,
    );
    await assert.rejects(pyrightStrict(dir), /"Literal\['deep'\]" is not assignable to "float"/);
  });
});

/**
 * A user activation written by the test: names Python cares about, a cancellable stream, a counter to observe it.
 * It imports the package by name, as a user's module does: \`hub\` runs the built framework, and
 * a relative import of src/ would load a second copy whose PlexusError the hub does not recognise.
 */
const PROBE = `import { activation, method, PlexusError, type CallContext } from 'plexus-hub';

/** One tick. */
export interface Tick {
  n: number;
  /** Where it came from. */
  from: string;
}

let finished = 0;

/** Probes the Python client. */
@activation('probe')
export class Probe {
  /**
   * Ticks until cancelled.
   * @param from - a label (a Python keyword as a param name)
   */
  @method()
  async *ticks(from: string, ctx?: CallContext): AsyncGenerator<Tick> {
    try {
      for (let n = 0; !ctx?.signal.aborted; n++) {
        yield { n, from };
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      finished++;
    }
  }

  /** Asks for a number and yields it doubled. */
  @method({ bidirectional: true })
  async double(ctx: CallContext): Promise<number> {
    try {
      const n = await ctx.request<number>({ prompt: 'A number?', schema: { type: 'number' } });
      return n * 2;
    } finally {
      finished++;
    }
  }

  /** Fails with a named (domain) error code. */
  @method()
  refuse(): string {
    throw new PlexusError('probe.refused', 'No, thanks');
  }

  /** How many ticks or double streams have ended. */
  @method()
  finished(): number {
    return finished;
  }
}
`;

describe('codegen --lang python end to end against a live hub serve', { skip: python.skip }, () => {
  let server: { child: ChildProcess; url: string };
  const dir = join(tmp, 'live');
  before(async () => {
    mkdirSync(join(dir, 'modules'), { recursive: true });
    writeFileSync(join(dir, 'modules', 'probe.ts'), PROBE);
    server = await serve([
      join(root, 'test', 'fixtures', 'kitchen.ts'),
      join(dir, 'modules', 'probe.ts'),
      join(root, 'examples', 'trash.ts'),
    ]);
  });
  after(() => server.child.kill('SIGKILL'));

  it('a client generated from the built-ins and user activations calls unary, streaming and nested methods, and passes pyright --strict', async () => {
    const { stdout } = await run(
      process.execPath,
      [HUB, 'codegen', '--lang', 'python', '--url', server.url, '--out', join(dir, 'py_client')],
      { cwd: root },
    );
    assert.match(
      stdout,
      /^wrote __init__\.py, models\.py, client\.py, _runtime\.py, py\.typed, requirements\.txt to .*py_client \(schema hash [0-9a-f]{16}\)$/m,
    );
    writeFileSync(
      join(dir, 'main.py'),
      `import asyncio
import json
import sys

from py_client import BodyInfo, EchoEvent, HubClient, PlexusCallError, Point, Tree


async def main() -> None:
    out: dict[str, object] = {}
    async with HubClient(sys.argv[1], on_drift="throw") as hub:
        once: EchoEvent = await hub.echo.once(message="typed")
        out["once"] = once
        out["streamed"] = [e["seq"] async for e in hub.echo.echo(message="x", count=3)]
        luna: BodyInfo = await hub.solar.earth.luna.info()
        out["luna"] = luna["name"]
        out["moons"] = len([b async for b in hub.solar.observe(body_type="moon")])
        point: Point = {"x": 1, "y": 2}
        out["everything"] = await hub.kitchen.everything(
            name="py", tags=["a"], point=point, color="green", shape={"kind": "square", "side": 2}, nested={"depth": {"deeper": [True]}}
        )
        tree: Tree = await hub.kitchen.tree(depth=2)
        out["depth"] = len(tree["children"][0]["children"])
        out["nothing"] = await hub.kitchen.nothing()
        out["counted"] = [n async for n in hub.kitchen.counted(n=3)]
        got: list[float] = []
        try:
            async for n in hub.kitchen.failing(before=2):
                got.append(n)
        except PlexusCallError as e:
            out["failing"] = [got, e.path, e.code, e.message]
        try:
            await hub.echo.once(message=42)  # type: ignore[arg-type]
        except PlexusCallError as e:
            out["invalid"] = [e.code, e.message]
        try:
            await hub.probe.refuse()
        except PlexusCallError as e:
            out["named"] = [e.code, e.message]
        before = await hub.probe.finished()
        async with hub.probe.ticks(from_="py") as ticks:
            async for tick in ticks:
                if tick["n"] == 2:
                    out["tick"] = tick
                    break
        for _ in range(200):
            if await hub.probe.finished() == before + 1:
                break
            await asyncio.sleep(0.01)
        out["cancelled"] = await hub.probe.finished() - before
    print(json.dumps(out))


asyncio.run(main())
`,
    );
    await pyrightStrict(dir);
    const { stdout: result } = await runPython('main.py', [server.url], dir);
    // The same program reading the turn form (#25 item 1) sees the same values and errors.
    const { stdout: turns } = await runPython('main.py', [`${server.url}/?wire=turns`], dir);
    assert.deepEqual(JSON.parse(turns), JSON.parse(result));
    assert.deepEqual(JSON.parse(result), {
      once: { message: 'typed', seq: 1 },
      streamed: [1, 2, 3],
      luna: 'Luna',
      moons: 14,
      everything: { ok: true, mode: 'quiet' },
      depth: 1,
      nothing: null,
      counted: [0, 1, 2],
      failing: [[0, 1], 'kitchen.failing', -32000, 'Execution error: boom'],
      invalid: [-32602, "Invalid params: param 'message' must be string"],
      named: ['probe.refused', 'No, thanks'],
      tick: { n: 2, from: 'py' },
      cancelled: 1,
    });
  });

  it('a client generated for another schema warns about drift, or raises SchemaDriftError with on_drift="throw"', async () => {
    const ir = await buildIr(hubSource(new DynamicHub().register(...builtinActivations())));
    await writePackage(ir, join(dir, 'drift', 'old_client'));
    writeFileSync(
      join(dir, 'drift', 'old.py'),
      `import asyncio
import sys

from old_client import HubClient, SchemaDriftError


async def main() -> None:
    async with HubClient(sys.argv[1]) as warned:
        print((await warned.echo.once(message="a"))["message"])
    async with HubClient(sys.argv[1], on_drift="throw") as strict:
        try:
            await strict.echo.once(message="b")
        except SchemaDriftError as e:
            print("drift-error", e.expected, e.actual)


asyncio.run(main())
`,
    );
    const actual = (await run(process.execPath, [HUB, 'call', 'plexus.hash', '--url', server.url], { cwd: root })).stdout.match(
      /[0-9a-f]{16}/,
    )![0];
    const { stdout, stderr } = await runPython('old.py', [server.url], join(dir, 'drift'));
    assert.deepEqual(stdout.trim().split('\n'), ['a', `drift-error ${ir.hash} ${actual}`]);
    // Once per client, pointing at the caller's line (not the runtime's).
    assert.match(
      stderr,
      new RegExp(
        `^.*old\\.py:9: SchemaDriftWarning: Schema drift: this client was generated for hash ${ir.hash}, the server has ${actual}; regenerate it with hub codegen`,
      ),
    );
  });

  it("answers the server's mid-stream requests with on_request, declines without it, and cancels a pending one", async () => {
    assert.match(
      readFileSync(join(dir, 'py_client', 'client.py'), 'utf8'),
      /Asks questions mid-stream: answer them with `HubClient\(on_request=\.\.\.\)`\.\n\n\s+Plexus: trash\.empty \(stream, bidirectional, hash [0-9a-f]{16}\)/,
    );
    writeFileSync(
      join(dir, 'ask.py'),
      `import asyncio
import json
import sys
from typing import Any

from py_client import HubClient, PlexusCallError, PlexusRequest, TrashEvent

asked: list[Any] = []


def confirm(request: PlexusRequest) -> Any:
    asked.append([request.path, request.prompt, request.schema, request.timeout_ms])
    return True if request.path == "trash.empty" else 21


async def never(request: PlexusRequest) -> Any:
    await asyncio.Event().wait()


async def main() -> None:
    out: dict[str, Any] = {"asked": asked}
    async with HubClient(sys.argv[1], on_request=confirm) as hub:
        deleted: list[TrashEvent] = [e async for e in hub.trash.empty()]
        out["deleted"] = deleted
        out["doubled"] = await hub.probe.double()
    async with HubClient(sys.argv[1]) as hub:
        await hub.trash.put(name="x")
        out["kept"] = [e async for e in hub.trash.empty()]
        try:
            await hub.probe.double()
        except PlexusCallError as e:
            out["declined"] = [e.code, e.message]
    async with HubClient(sys.argv[1], on_request=never) as hub:
        before = await hub.probe.finished()
        try:
            await asyncio.wait_for(hub.probe.double(), 0.5)
        except asyncio.TimeoutError:
            out["timed_out_locally"] = True
        for _ in range(200):
            if await hub.probe.finished() == before + 1:
                break
            await asyncio.sleep(0.01)
        out["cancelled"] = await hub.probe.finished() - before
    print(json.dumps(out))


asyncio.run(main())
`,
    );
    await pyrightStrict(dir);
    const { stdout } = await runPython('ask.py', [server.url], dir);
    assert.deepEqual(JSON.parse(stdout), {
      asked: [
        [
          'trash.empty',
          'Permanently delete 3 items (draft.txt, old-notes.md, screenshot.png)?',
          { type: 'boolean', description: 'true deletes them' },
          30000,
        ],
        ['probe.double', 'A number?', { type: 'number' }, 30000],
      ],
      deleted: [
        { event: 'deleted', name: 'draft.txt' },
        { event: 'deleted', name: 'old-notes.md' },
        { event: 'deleted', name: 'screenshot.png' },
      ],
      doubled: 42,
      kept: [{ event: 'kept', count: 1, reason: 'Request declined by the caller' }],
      declined: [-32006, 'Request declined by the caller'],
      timed_out_locally: true,
      cancelled: 1,
    });
  });

  it('a call to a server that is not there raises PlexusConnectionError', async () => {
    writeFileSync(
      join(dir, 'down.py'),
      `import asyncio

from py_client import HubClient, PlexusConnectionError


async def main() -> None:
    hub = HubClient("ws://127.0.0.1:9", connect_attempts=2)
    try:
        await hub.echo.once(message="x")
    except PlexusConnectionError as e:
        print("connection-error", str(e).startswith("Cannot connect to ws://127.0.0.1:9"))


asyncio.run(main())
`,
    );
    const { stdout } = await runPython('down.py', [], dir);
    assert.equal(stdout.trim(), 'connection-error True');
  });
});

describe('codegen --lang python against the storage activations (arbor, changelog, mustache)', { skip: python.skip }, () => {
  let server: { child: ChildProcess; url: string };
  const dir = join(tmp, 'storage');
  before(async () => {
    mkdirSync(dir, { recursive: true });
    server = await serve(['--with', 'arbor,changelog,mustache', '--data-dir', join(dir, 'data')]);
  });
  after(() => server.child.kill('SIGKILL'));

  it('a client of their richer schemas passes pyright --strict and keeps named error codes', async () => {
    await run(process.execPath, [HUB, 'codegen', '--lang', 'python', '--url', server.url, '--out', join(dir, 'big_client')], { cwd: root });
    writeFileSync(
      join(dir, 'arbor.py'),
      `import asyncio
import json
import sys

from big_client import HubClient, PlexusCallError, TreeCreated


async def main() -> None:
    out: list[object] = []
    async with HubClient(sys.argv[1], on_drift="throw") as hub:
        created: TreeCreated = await hub.arbor.tree_create(owner_id="py")
        tree = await hub.arbor.tree_get(tree_id=created["tree_id"])
        out.append(tree["type"])
        try:
            await hub.arbor.tree_get(tree_id="00000000-0000-4000-8000-000000000000")
        except PlexusCallError as e:
            out.append([e.code, e.message])
    print(json.dumps(out))


asyncio.run(main())
`,
    );
    await pyrightStrict(dir);
    const { stdout } = await runPython('arbor.py', [server.url], dir);
    assert.deepEqual(JSON.parse(stdout), ['tree_data', ['arbor.tree_not_found', 'Tree not found: 00000000-0000-4000-8000-000000000000']]);
  });
});
