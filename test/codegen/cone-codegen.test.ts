// The cone example through a generated TypeScript client: `hub codegen` against a live
// hub with arbor + cone, the example type-checked strictly against the generated
// client, then run, streaming tokens from the fake provider.
import assert from 'node:assert/strict';
import { typecheckStrict } from '../support/helpers.js';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DynamicHub, serveWebSocket, type PlexusServer } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { Cone, LlmRegistry } from '../../activations/cone/index.js';
import { FakeLlmServer } from '../support/fake-llm-server.js';
import { REPO_ROOT as root } from '../support/repo.js';

const run = promisify(execFile);
const tmp = join(root, 'test', '.tmp', `cone-codegen-${process.pid}`);

describe('examples/cone-client: a chat through the generated client', () => {
  let fake: FakeLlmServer;
  let arbor: Arbor;
  let cone: Cone;
  let server: PlexusServer;
  before(async () => {
    mkdirSync(tmp, { recursive: true });
    fake = await FakeLlmServer.start({ reply: { delayMs: 5 } });
    arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    cone = new Cone({ arbor, llm: new LlmRegistry({ env: { ANTHROPIC_BASE_URL: fake.anthropicBaseUrl } }) });
    server = await serveWebSocket(new DynamicHub().register(arbor, cone), { port: 0 });
  });
  after(async () => {
    await server.close({ graceMs: 0 });
    cone.close();
    arbor.close();
    await fake.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('compiles strictly against the generated client and prints the streamed answer', async () => {
    await run(process.execPath, [join(root, 'bin', 'hub.js'), 'codegen', '--url', server.url, '--out', join(tmp, 'client')], { cwd: root });
    const program = join(tmp, 'chat.ts');
    copyFileSync(join(root, 'examples', 'cone-client', 'chat.ts'), program);
    await typecheckStrict(program);
    const env = { ...process.env, HUB_URL: server.url };
    const first = await run(process.execPath, ['--import', 'tsx', program, 'demo', 'typed hello', 'claude-3-haiku-20240307'], {
      cwd: root,
      env,
    });
    assert.match(first.stdout, /^You said: typed hello\n\[head [0-9a-f-]{36}, \d+ tokens out\]\n$/);
    const second = await run(process.execPath, ['--import', 'tsx', program, 'demo', 'and again'], { cwd: root, env });
    assert.match(second.stdout, /^You said: and again\n/);
    // The second run reused the cone: its context held the first turn.
    assert.deepEqual(
      (fake.last!.body.messages as { content: string }[]).map((m) => m.content),
      ['typed hello', 'You said: typed hello', 'and again'],
    );
  });
});
