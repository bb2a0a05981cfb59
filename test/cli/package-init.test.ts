// `hub init` from the packed package, as a new user runs it: an empty cwd and HOME,
// the plexus-hub dependency from a local tarball (`--tarball`), a real `npm install`
// (this machine's npm cache; --ignore-scripts, as npm does for dependencies that
// allowScripts does not cover), then the project's own `npm test` and `npm start`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureBuilt } from '../support/built.js';
import { freshUserEnv, installTarball, NPM, sharedTarball } from '../support/packed.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('hub init, from the packed package', () => {
  let scratch: string;
  let cwd: string;
  let project: string;
  let env: NodeJS.ProcessEnv;
  let init: Result;
  let server: ChildProcess | undefined;

  before(async () => {
    ensureBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'plexus-init-'));
    cwd = join(scratch, 'cwd');
    const home = join(scratch, 'home');
    const tool = join(scratch, 'tool');
    for (const d of [cwd, home, tool]) mkdirSync(d);
    const tarball = await sharedTarball();
    // The `hub` that runs init: the packed package, installed offline elsewhere.
    installTarball(tool, tarball);
    env = freshUserEnv(home);
    project = join(scratch, 'my-hub');
    init = await exec(
      process.execPath,
      [join(tool, 'node_modules', 'plexus-hub', 'bin', 'hub.js'), 'init', project, '--tarball', tarball],
      cwd,
      env,
    );
  });
  after(() => {
    if (server?.pid && server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('writes the project and prints the Claude Desktop config with absolute paths; nothing in the cwd', () => {
    assert.equal(init.code, 0, init.stderr);
    const files = ['package.json', 'tsconfig.json', 'src/greeter.ts', 'test/greeter.test.ts', '.mcp.json', 'README.md'];
    for (const f of files) assert.ok(existsSync(join(project, f)), f);
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    assert.equal(pkg.type, 'module');
    assert.deepEqual(Object.keys(pkg.scripts).sort(), ['codegen', 'start', 'test']);
    assert.match(pkg.dependencies['plexus-hub'], /^file:\/.*\.tgz$/);
    assert.deepEqual(pkg.allowScripts, { 'better-sqlite3': true, esbuild: true });
    assert.ok(readFileSync(join(project, 'README.md'), 'utf8').trim().split('\n').length <= 12);
    const mcp = JSON.parse(readFileSync(join(project, '.mcp.json'), 'utf8'));
    assert.deepEqual(mcp.mcpServers['my-hub'].args.slice(-2), ['mcp', 'src/greeter.ts']);
    const desktop = JSON.parse(init.stdout.slice(init.stdout.indexOf('{'), init.stdout.lastIndexOf('}') + 1));
    assert.deepEqual(desktop.mcpServers['my-hub'], {
      command: process.execPath,
      args: [join(project, 'node_modules', 'plexus-hub', 'bin', 'hub.js'), 'mcp', join(project, 'src', 'greeter.ts')],
    });
    assert.deepEqual(readdirSync(cwd), []);
  });

  it('a second init into the same directory refuses to overwrite, naming the files', async () => {
    const again = await exec(
      process.execPath,
      [join(scratch, 'tool', 'node_modules', 'plexus-hub', 'bin', 'hub.js'), 'init', project],
      cwd,
      env,
    );
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already has package\.json, .* \(use --force to overwrite\)/);
  });

  it('npm install, then npm test runs the in-process test, then npm start serves the greeter', { timeout: 200_000 }, async () => {
    const install = await exec(NPM, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], project, env);
    assert.equal(install.code, 0, install.stderr);
    const test = await exec(NPM, ['test'], project, env);
    assert.equal(test.code, 0, `${test.stdout}\n${test.stderr}`);
    assert.match(test.stdout, /# pass 2/);

    server = spawn(NPM, ['start', '--', '--port', '0'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    server.stderr!.on('data', (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server!.stdout! }).on('line', (line) => {
        const m = / on (ws:\/\/\S+)$/.exec(line);
        if (m) resolve(m[1]!);
      });
      server!.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${stderr}`)));
    });
    const call = await exec(
      join(project, 'node_modules', '.bin', 'hub'),
      ['call', 'greeter.greet', '--name', 'Ada', '--url', url],
      project,
      env,
    );
    assert.equal(call.code, 0, call.stderr);
    assert.deepEqual(JSON.parse(call.stdout), { text: 'Hi Ada!', n: 1 });
    process.kill(-server.pid!, 'SIGKILL');
    assert.deepEqual(readdirSync(cwd), []);
  });
});
