// What a new user does: `npm pack`, install the tarball into an empty project with
// its own package.json and tsconfig (not ours), write a decorated activation there
// that imports `plexus-hub`, and use `npx hub serve|call|codegen|mcp` from it.
// Offline: the tarball is installed by test/support/packed.ts. The first run in
// other layouts (CommonJS, no package.json, `hub init`) is package-first-run.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ensureBuilt } from '../support/built.js';
import { installTarball, NPX, sharedTarball } from '../support/packed.js';

const run = promisify(execFile);

// CallContext and ProgressMark are types imported without \`type\`: under the user's
// tsconfig below (verbatimModuleSyntax) that import would stay and fail at runtime.
const NOTES = `import { activation, method, progress, PlexusError, CallContext, ProgressMark } from 'plexus-hub';

/** A note. */
export interface Note {
  id: number;
  text: string;
  tags: string[];
}

/** Notes kept in memory. */
@activation('notes', { version: '1.0.0' })
export class Notes {
  readonly #notes = new Map<number, Note>([[1, { id: 1, text: 'first', tags: ['a'] }], [2, { id: 2, text: 'second', tags: [] }]]);

  /**
   * One note.
   * @param id - the note's id
   */
  @method()
  async get(id: number): Promise<Note> {
    const note = this.#notes.get(id);
    if (!note) throw new PlexusError(-32010, \`no note \${id}\`);
    return note;
  }

  /** Every note, after a progress item. */
  @method()
  async *list(ctx?: CallContext): AsyncGenerator<Note | ProgressMark> {
    yield progress('reading', 0);
    for (const note of this.#notes.values()) {
      if (ctx?.signal.aborted) return;
      yield note;
    }
  }
}
`;

// Generous: npm test runs three files at a time, and the three package files may be those three.
describe('the packed package, installed into a fresh project', { timeout: 180_000 }, () => {
  let project: string;
  let server: ChildProcess | undefined;
  let url: string;
  const npx = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(NPX, ['--no', 'hub', ...args], { cwd: project });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  before(async () => {
    ensureBuilt();
    project = mkdtempSync(join(tmpdir(), 'plexus-user-'));
    const tarball = await sharedTarball();
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify(
        { name: 'my-notes', version: '1.0.0', private: true, type: 'module', dependencies: { 'plexus-hub': `file:${tarball}` } },
        null,
        2,
      ),
    );
    installTarball(project, tarball);
    mkdirSync(join(project, 'src'));
    writeFileSync(join(project, 'src', 'notes.ts'), NOTES);
    // The user's own tsconfig, which would change emitted code: the hub compiles with its own settings.
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { verbatimModuleSyntax: true, experimentalDecorators: false, emitDecoratorMetadata: true } }),
    );

    server = spawn(NPX, ['--no', 'hub', 'serve', 'src/notes.ts', '--port', '0'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    server.stderr!.on('data', (d) => (stderr += d));
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server!.stdout! }).on('line', (line) => {
        const m = / on (ws:\/\/\S+)$/.exec(line);
        if (m) resolve(m[1]!);
      });
      server!.once('exit', (code) => reject(new Error(`hub serve exited with ${code}: ${stderr}`)));
    });
  });

  after(() => {
    // npx runs the bin under a shell: end the whole process group, not just the shell.
    if (server?.pid) process.kill(-server.pid, 'SIGKILL');
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('npx hub call: data, progress, and a PlexusError keeps its own code', async () => {
    const one = await npx(['call', 'notes.get', '--id', '1', '--url', url]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), { id: 1, text: 'first', tags: ['a'] });
    const list = await npx(['call', 'notes.list', '--raw', '--url', url]);
    assert.deepEqual(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
      ['progress', 'data', 'data', 'done'],
    );
    // The user's PlexusError is the framework's own class: one copy per process.
    const missing = await npx(['call', 'notes.get', '--id', '7', '--url', url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error -32010: no note 7/);
  });

  it('npx hub codegen writes a typed client with the interface item type', async () => {
    const r = await npx(['codegen', '--url', url, '--out', 'generated']);
    assert.equal(r.code, 0, r.stderr);
    const types = readFileSync(join(project, 'generated', 'types.ts'), 'utf8');
    assert.match(types, /interface Note\b[^}]*id: number;[^}]*text: string;[^}]*tags: string\[\];/s);
    assert.match(readFileSync(join(project, 'generated', 'client.ts'), 'utf8'), /notes/);
  });

  it('npx hub mcp (stdio): tools from the user module; the PlexusError message arrives as is', async () => {
    const client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: NPX, args: ['--no', 'hub', 'mcp', 'src/notes.ts'], cwd: project, stderr: 'pipe' }),
    );
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'notes.get'));
      const ok = await client.callTool({ name: 'notes.get', arguments: { id: 2 } });
      assert.deepEqual((ok.structuredContent as { result: unknown }).result, { id: 2, text: 'second', tags: [] });
      const bad = await client.callTool({ name: 'notes.get', arguments: { id: 7 } });
      assert.equal(bad.isError, true);
      assert.deepEqual(bad.content, [{ type: 'text', text: 'no note 7' }]);
    } finally {
      await client.close();
    }
  });
});
