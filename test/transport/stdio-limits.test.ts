// stdio (issue #10, item 5): the line limit applies before a line is buffered, and
// the end of the input cancels running streams (after the grace period) and exits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { DynamicHub } from '../../src/index.js';
import { serveStdio } from '../../src/transport/stdio-server.js';
import { LineReader } from '../../src/transport/line-reader.js';
import { ensureBuilt } from '../support/built.js';
import { eventually, tick } from '../support/helpers.js';
import { REPO_ROOT } from '../support/repo.js';
import { endless } from '../support/endless.js';

let starts = 0;
let finallies = 0;
const endlessTicks = endless({ onStart: () => starts++, onFinally: () => finallies++ });

const MiB = 1024 * 1024;

describe('stdio line limit', { timeout: 30_000 }, () => {
  it('64 MiB without a newline is dropped as it arrives (memory stays flat); one error, then the next line is served', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: string[] = [];
    createInterface({ input: output }).on('line', (l) => lines.push(l));
    const done = serveStdio(new DynamicHub().register(endlessTicks), { input, output, maxFrameBytes: MiB });
    const chunk = Buffer.alloc(MiB, 0x61); // the same chunk each time: the test itself allocates nothing more
    const before = process.memoryUsage();
    for (let i = 0; i < 64; i++) {
      input.write(chunk);
      if (i % 8 === 7) await tick(); // let the server read as it goes
    }
    await eventually(() => input.readableLength === 0); // the server has read it all
    const after = process.memoryUsage();
    const growth = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    assert.ok(growth < 16 * MiB, `memory grew by ${Math.round(growth / MiB)} MiB while reading one overlong line`);
    input.write('\n{"jsonrpc":"2.0","id":7,"method":"plexus.hash"}\n');
    await eventually(() => lines.length >= 2);
    assert.deepEqual(JSON.parse(lines[0]!), {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'Invalid request: message is larger than 1048576 bytes (the limit); it was skipped' },
    });
    assert.equal(JSON.parse(lines[1]!).id, 7);
    input.end();
    await done;
  });

  it('LineReader: lines split across chunks, CRLF, a last line without newline, an overlong line between two good ones', () => {
    const got: string[] = [];
    let oversize = 0;
    const r = new LineReader(
      8,
      (l) => got.push(l),
      () => oversize++,
    );
    for (const part of ['ab', 'c\r\nde', 'f\n0123456', '789abc\nok\nla', 'st']) r.push(Buffer.from(part));
    r.end();
    assert.deepEqual(got, ['abc', 'def', 'ok', 'last']);
    assert.equal(oversize, 1);
  });
});

describe('stdio end of input', { timeout: 30_000 }, () => {
  it('in process: running streams are cancelled after the grace period and serveStdio resolves', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const done = serveStdio(new DynamicHub().register(endlessTicks), { input, output, graceMs: 100 });
    const before = finallies;
    const started = starts;
    input.write('{"jsonrpc":"2.0","id":1,"method":"plexus.call","params":{"method":"endless.ticks"}}\n');
    await eventually(() => starts === started + 1);
    input.end();
    const outcome = await Promise.race([done.then(() => 'resolved'), tick(3000).then(() => 'still running')]);
    assert.equal(outcome, 'resolved');
    await eventually(() => finallies === before + 1);
  });

  it('hub serve --stdio: EOF cancels an endless call and the process exits', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [`${REPO_ROOT}bin/hub.js`, 'serve', '--stdio', 'test/fixtures/endless.ts'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const first = new Promise((resolve) => lines.once('line', resolve));
      child.stdin.write('{"jsonrpc":"2.0","id":1,"method":"plexus.call","params":{"method":"endless.ticks"}}\n');
      await first;
      child.stdin.end();
      const code = await Promise.race([exited, tick(10_000).then(() => 'still running')]);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /endless\.ticks finally/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
