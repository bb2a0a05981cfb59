import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type OwnPackage, ownPackage } from '../own-package.js';

/**
 * `hub init [dir]`: a project that works at once (`npm install && npm start`,
 * `npm test`), with one example activation, its in-process test, and the MCP
 * configuration for Claude Code (`.mcp.json`) and Claude Desktop (printed).
 */

/** This package's manifest (dist/cli/commands/ in an install, cli/commands/ under tsx). */
function ownManifest(): OwnPackage['manifest'] {
  try {
    return ownPackage().manifest;
  } catch {
    throw new Error('hub init: cannot find the plexus-hub package.json');
  }
}

/** A package name npm accepts, from the directory's name. */
function packageName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|-+$/g, '');
  return name || 'my-hub';
}

const GREETER = `import { activation, method, progress, type CallContext, type ProgressMark } from 'plexus-hub';

/** A greeting. */
export interface Greeting {
  text: string;
  /** 1-based. */
  n: number;
}

/** Greets people. */
@activation('greeter', { version: '1.0.0' })
export class Greeter {
  /**
   * Greet someone, \`times\` times, one item each.
   * @param name - who to greet
   * @param style - how formally
   */
  @method()
  async *greet(name: string, times = 1, style: 'casual' | 'formal' = 'casual', ctx?: CallContext): AsyncGenerator<Greeting | ProgressMark> {
    for (let n = 1; n <= times && !ctx?.signal.aborted; n++) {
      if (n === Math.ceil(times / 2) && times > 2) yield progress('halfway there', 50);
      yield { text: style === 'formal' ? \`Good day, \${name}.\` : \`Hi \${name}!\`, n };
    }
  }
}
`;

const GREETER_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicHub } from 'plexus-hub';
import { Greeter } from '../src/greeter.js';

test('greeter.greet streams one greeting per time, in process', async () => {
  const hub = new DynamicHub('plexus').register(new Greeter());
  await hub.ready();
  const data: unknown[] = [];
  for await (const item of hub.call('greeter.greet', { name: 'Ada', times: 2, style: 'formal' })) {
    if (item.type === 'data') data.push(item.content);
    if (item.type === 'error') assert.fail(item.message);
  }
  assert.deepEqual(data, [
    { text: 'Good day, Ada.', n: 1 },
    { text: 'Good day, Ada.', n: 2 },
  ]);
});

test('a missing param is an error item, not a crash', async () => {
  const hub = new DynamicHub('plexus').register(new Greeter());
  const items = [];
  for await (const item of hub.call('greeter.greet', {})) items.push(item);
  assert.equal(items[0]?.type, 'error');
});
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: false,
    skipLibCheck: true,
    noEmit: true,
  },
  include: ['src', 'test'],
};

function readme(name: string): string {
  return `# ${name}

A [Plexus RPC](https://www.npmjs.com/package/plexus-hub) hub. \`src/greeter.ts\` is the example activation.

\`\`\`sh
npm install
npm start                                      # ws://127.0.0.1:4444, explorer at http://127.0.0.1:4444/
npx hub call greeter.greet --name Ada --times 2
npm test                                       # test/greeter.test.ts calls it in process
npm run codegen                                # a typed client in generated/
\`\`\`
`;
}

export interface InitOptions {
  /** The plexus-hub dependency as a local tarball (`file:`), e.g. for offline installs. */
  readonly tarball?: string;
  readonly name?: string;
  readonly force?: boolean;
}

/** Writes the project; returns the files written (relative) and the Claude Desktop snippet. */
export function initProject(dirArg: string, options: InitOptions = {}): { dir: string; files: string[]; desktop: unknown } {
  const dir = resolve(dirArg);
  const own = ownManifest();
  const name = options.name ?? packageName(dir);
  const dependency = options.tarball ? `file:${resolve(options.tarball)}` : `^${own.version}`;
  if (options.tarball && !existsSync(resolve(options.tarball))) throw new Error(`hub init: no tarball at ${resolve(options.tarball)}`);
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'hub serve src/greeter.ts',
      test: 'node --import tsx --test test/*.test.ts',
      codegen: 'hub codegen --module src/greeter.ts --out generated',
    },
    dependencies: { 'plexus-hub': dependency },
    devDependencies: { tsx: readDependencyRange(own, 'tsx') },
    // npm runs a dependency's install script only when the project allows it:
    // better-sqlite3 fetches or builds its native addon, esbuild its binary.
    allowScripts: own.allowScripts ?? { 'better-sqlite3': true, esbuild: true },
  };
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(TSCONFIG, null, 2)}\n`,
    'src/greeter.ts': GREETER,
    'test/greeter.test.ts': GREETER_TEST,
    '.mcp.json': `${JSON.stringify({ mcpServers: { [name]: { command: 'npx', args: ['--no', 'hub', 'mcp', 'src/greeter.ts'] } } }, null, 2)}\n`,
    '.gitignore': 'node_modules/\ngenerated/\n',
    'README.md': readme(name),
  };
  const clashes = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (clashes.length > 0 && !options.force)
    throw new Error(`hub init: ${dir} already has ${clashes.join(', ')} (use --force to overwrite)`);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  // Claude Desktop starts servers from the user's home with a bare PATH: absolute paths only.
  const desktop = {
    mcpServers: {
      [name]: {
        command: process.execPath,
        args: [join(dir, 'node_modules', 'plexus-hub', 'bin', 'hub.js'), 'mcp', join(dir, 'src', 'greeter.ts')],
      },
    },
  };
  return { dir, files: Object.keys(files), desktop };
}

function readDependencyRange(own: { dependencies?: Record<string, string> }, dep: string): string {
  return own.dependencies?.[dep] ?? 'latest';
}

export function addInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a project: package.json, tsconfig.json, an example activation and its test, .mcp.json for Claude Code')
    .argument('[dir]', 'the project directory (created if missing)', '.')
    .option('--tarball <file>', 'take the plexus-hub dependency from a local tarball (npm pack), e.g. to install offline')
    .option('--name <name>', 'the package name (default: from the directory name)')
    .option('--force', 'overwrite files that already exist')
    .action((dirArg: string, opts: { tarball?: string; name?: string; force?: boolean }) => {
      const existed = existsSync(resolve(dirArg)) && readdirSync(resolve(dirArg)).length > 0;
      const { dir, files, desktop } = initProject(dirArg, opts);
      const rel = dirArg === '.' ? '' : `cd ${dirArg} && `;
      process.stdout.write(
        [
          `created ${files.join(', ')} in ${dir}${existed ? ' (beside the files already there)' : ''}`,
          '',
          'next:',
          `  ${rel}npm install && npm start`,
          '  npm test',
          '',
          'Claude Code reads .mcp.json in this directory. For Claude Desktop, add this to claude_desktop_config.json',
          '(after npm install; it starts the server with absolute paths):',
          JSON.stringify(desktop, null, 2),
          '',
        ].join('\n'),
      );
    });
}
