/**
 * What a warm `hub serve` of a user's `.ts` module leaves unloaded, and that what it
 * then needs still loads: module hooks for a one-file module (linked-module.test.ts has the rest); tsx's hooks (with esbuild's JS API) only when a module needs
 * them (a relative import of a TypeScript file, a tsconfig whose `paths` may apply);
 * ajv only when a validator is not in the cache; one command's modules; the extension
 * machinery only with an extension installed.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlexusClient } from '../../src/index.js';
import { startHub } from '../support/hub-process.js';
import { REPO_ROOT } from '../support/repo.js';
import { userProject } from '../support/user-project.js';

const scratch = mkdtempSync(join(tmpdir(), 'plexus-start-lazy-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const LOG = `--require ${join(REPO_ROOT, 'test', 'fixtures', 'log-requires.cjs')} --import ${join(REPO_ROOT, 'test', 'fixtures', 'log-imports.mjs')}`;

const activationOf = (word: string, imports = '') => `import { activation, method } from 'plexus-hub';
${imports}
/** Says a word. */
@activation('word', { version: '1.0.0' })
export class Word {
  /**
   * The word, for someone.
   * @param name - who to say it to
   */
  @method()
  say(name: string): string {
    return \`\${${word}} \${name}\`;
  }
}
`;

/** A project in the scratch directory whose node_modules has plexus-hub, with the given files. */
const project = (name: string, files: Record<string, string>) => userProject(join(scratch, name), files);

/** Serves the module from `cwd`, calls word.say, stops; what it said and what it logged. */
async function serveAndSay(module: string, cwd: string, cache: string): Promise<{ said: string; lines: string[] }> {
  const hub = await startHub({ args: [module, '--no-builtins'], cwd, env: { PLEXUS_HUB_CACHE: cache, NODE_OPTIONS: LOG } });
  const client = new PlexusClient({ url: hub.url });
  try {
    const said = (await client.result('word.say', { name: 'Ada' })) as string;
    return { said, lines: [...hub.lines] };
  } finally {
    client.close();
    await hub.stop();
  }
}

const esbuild = (lines: string[]) => lines.filter((l) => /^require\[\d+\]: .*esbuild\/lib\/main\.js$/.test(l));
const hooks = (lines: string[]) => lines.filter((l) => l.startsWith('import: ') && l.endsWith('/dist/cli/user-module-hooks.js'));
const ajv = (lines: string[]) => lines.filter((l) => /^require\[\d+\]: ajv(-formats)?$/.test(l));

describe('a warm hub serve of a .ts module', () => {
  it('one file importing plexus-hub, from an empty cwd: loads neither tsx nor esbuild nor ajv', { timeout: 120_000 }, async () => {
    const dir = project('one-file', { 'word.ts': activationOf("'hello'") });
    const cwd = join(scratch, 'empty-cwd');
    mkdirSync(cwd);
    const cache = join(scratch, 'cache-one-file');
    const cold = await serveAndSay(join(dir, 'word.ts'), cwd, cache);
    assert.equal(cold.said, 'hello Ada');
    // The logs see what the cold start loads: esbuild to compile the module, ajv to make the validator.
    assert.notDeepEqual(esbuild(cold.lines), [], 'the require log works');
    assert.notDeepEqual(ajv(cold.lines), [], 'the require log sees ajv');
    assert.equal(readdirSync(join(cache, 'validators')).length, 1, 'the validator of word.say is cached');
    const warm = await serveAndSay(join(dir, 'word.ts'), cwd, cache);
    assert.equal(warm.said, 'hello Ada');
    assert.deepEqual(esbuild(warm.lines), [], 'no esbuild, so no tsx, in any thread');
    assert.deepEqual(ajv(warm.lines), [], 'no ajv: the cached validator answered');
    // No module hooks at all: the module's linked copy (cli/linked-module.ts) needs none.
    assert.notDeepEqual(hooks(cold.lines), [], 'the import log sees the hooks of the cold start');
    assert.deepEqual(hooks(warm.lines), [], 'no module hooks: the linked copy was imported');
    assert.deepEqual(readdirSync(cwd), [], 'nothing written to the cwd');
  });

  it("still resolves what only tsx does: ./x.js → x.ts, an extensionless import, a tsconfig's paths", { timeout: 120_000 }, async () => {
    const dir = project('resolution', {
      'word.ts': activationOf(
        'HELLO + SEP + BANG',
        "import { HELLO } from './hello.js';\nimport { SEP } from './sep';\nimport { BANG } from '@lib/bang';",
      ),
      'hello.ts': "export const HELLO: string = 'hello';\n",
      'sep.ts': "export const SEP: string = ',';\n",
      'lib/bang.ts': "export const BANG: string = '!';\n",
      // tsx reads the tsconfig found from the cwd up: serve from the project's directory.
      'tsconfig.json': JSON.stringify({ compilerOptions: { paths: { '@lib/*': ['./lib/*'] } } }),
    });
    const cache = join(scratch, 'cache-resolution');
    for (const run of ['cold', 'warm']) {
      const { said, lines } = await serveAndSay(join(dir, 'word.ts'), dir, cache);
      assert.equal(said, 'hello,! Ada', run);
      assert.notDeepEqual(esbuild(lines), [], `${run}: tsx was loaded for these imports`);
    }
  });

  it('a relative import of a .ts file loads tsx even with no tsconfig in reach', { timeout: 120_000 }, async () => {
    const dir = project('relative', {
      'word.ts': activationOf('HELLO', "import { HELLO } from './hello.js';"),
      'hello.ts': "export const HELLO: string = 'hi';\n",
    });
    const cwd = join(scratch, 'empty-cwd-2');
    mkdirSync(cwd);
    const { said } = await serveAndSay(join(dir, 'word.ts'), cwd, join(scratch, 'cache-relative'));
    assert.equal(said, 'hi Ada');
  });
});

describe('hub serve start-up: what else it leaves unloaded', () => {
  it('no other command and no extension machinery (none installed)', { timeout: 120_000 }, async () => {
    const hub = await startHub({ env: { NODE_OPTIONS: LOG } });
    try {
      const imports = hub.lines.filter((l) => l.startsWith('import: '));
      assert.ok(
        imports.some((l) => l.endsWith('/dist/cli/commands/serve.js')),
        'the import log works',
      );
      assert.deepEqual(
        imports.filter((l) => /\/dist\/cli\/commands\/(?!serve\.js)/.test(l)),
        [],
        'only the serve command',
      );
      assert.deepEqual(
        imports.filter((l) => /\/dist\/activations\/(extension\/(activation|validate|transports\/)|process\/)/.test(l)),
        [],
        'no manifest checks, transports or process machinery',
      );
    } finally {
      await hub.stop();
    }
  });
});
