// `hub call --text <field>`: one string field of each data item, as running text.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DynamicHub, serveWebSocket, type PlexusServer } from '../../src/index.js';
import { builtinActivations } from '../../activations/index.js';
import { REPO_ROOT } from '../support/repo.js';

const run = promisify(execFile);
const HUB = join(REPO_ROOT, 'bin', 'hub.js');

describe('hub call --text', () => {
  let server: PlexusServer;
  before(async () => {
    server = await serveWebSocket(new DynamicHub().register(...builtinActivations()), { port: 0 });
  });
  after(() => server.close({ graceMs: 0 }));

  async function hub(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [HUB, 'call', ...args, '--url', server.url]);
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  it('prints the field of every item back to back, then one newline', async () => {
    assert.deepEqual(await hub(['echo.echo', '--message', 'ab', '--count', '3', '--text', 'message']), {
      code: 0,
      stdout: 'ababab\n',
      stderr: '',
    });
  });

  it('items without the field print nothing; errors go to stderr with exit 1', async () => {
    assert.deepEqual(await hub(['echo.echo', '--message', 'x', '--text', 'nope']), { code: 0, stdout: '', stderr: '' });
    const failed = await hub(['echo.echo', '--text', 'message']);
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '');
    assert.match(failed.stderr, /^error -32602: Invalid params: missing required param 'message'\n$/);
  });
});
