// A user's `.ts` module is compiled once per content: a warm start reads the compiled
// module from the cache and runs no esbuild; an edited file is compiled again.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlexusClient } from '../../src/index.js';
import { startHub } from '../support/hub-process.js';
import { REPO_ROOT } from '../support/repo.js';

const scratch = mkdtempSync(join(tmpdir(), 'plexus-module-cache-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const module = (word: string) => `import { activation, method } from 'plexus-hub';

/** Says a word. */
@activation('word', { version: '1.0.0' })
export class Word {
  /** The word. */
  @method()
  say(): string {
    return '${word}';
  }
}
`;

const compiledEntries = (cache: string) => readdirSync(join(cache, 'modules')).filter((f) => !f.startsWith('linked-'));
function dropLinked(cache: string): void {
  for (const f of readdirSync(join(cache, 'modules'))) if (f.startsWith('linked-')) rmSync(join(cache, 'modules', f));
}

async function served(file: string, cache: string): Promise<string> {
  const hub = await startHub({ args: [file, '--no-builtins'], cwd: scratch, env: { PLEXUS_HUB_CACHE: cache } });
  const client = new PlexusClient({ url: hub.url });
  try {
    return (await client.result('word.say', {})) as string;
  } finally {
    client.close();
    await hub.stop();
  }
}

describe('compiled user modules are cached by content', () => {
  it('a warm start serves the cached compilation; an edit compiles again', { timeout: 120_000 }, async () => {
    const project = join(scratch, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(REPO_ROOT, join(project, 'node_modules', 'plexus-hub'));
    const file = join(project, 'word.ts');
    const cache = join(scratch, 'cache');
    writeFileSync(file, module('first'));
    assert.equal(await served(file, cache), 'first');
    const compiled = compiledEntries(cache);
    assert.equal(compiled.length, 1, 'one compiled module');
    // The module's linked copy (linked-module.test.ts) would answer the next start first: this test is about the hooks' route.
    dropLinked(cache);
    // Proof the next start reads the cache rather than compiling: it serves what the entry says.
    const entry = join(cache, 'modules', compiled[0]!);
    const code = readFileSync(entry, 'utf8');
    assert.match(code, /"first"/);
    writeFileSync(entry, code.replace('"first"', '"from the cache"'));
    assert.equal(await served(file, cache), 'from the cache');
    writeFileSync(file, module('second'));
    assert.equal(await served(file, cache), 'second');
    assert.equal(compiledEntries(cache).length, 2, 'the edit is a new entry');
  });
});
