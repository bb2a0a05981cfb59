// Issue #27, the `cli` transport, called directly (dispatch / health / checkRoute) with
// real binaries: argv templates (one placeholder, one argument: never a shell), the
// allow-list, the process runner's timeout and output cap, exit codes as transport_error.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approvalSurface, buildArgv, checkRoute, cliTransport, dispatch, health } from '../../activations/extension/transports/cli.js';
import type { TransportOptions } from '../../activations/extension/types.js';
import { describeSurface, validateManifest } from '../../activations/extension/validate.js';
import { containmentMode, runProcess } from '../../activations/process/index.js';
import type { PlexusError } from '../../src/index.js';
import { dispatched } from '../support/transport-dispatch.js';

const options = (signal = new AbortController().signal): TransportOptions & { signal: AbortSignal } => ({
  secrets: { get: () => undefined },
  approvedHosts: [],
  signal,
});

const run = (route: unknown, params: Record<string, unknown> = {}, opts = options()) => dispatched(dispatch, route, params, opts);

const lines = (items: unknown[]) => items.map((i) => (i as { line: string }).line);

describe('cli transport', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-cli-'));
    mkdirSync(join(dir, 'sub dir'));
    for (const name of ['a.txt', 'b; rm -rf x', 'c $(id)']) writeFileSync(join(dir, 'sub dir', name), `${name}\nneedle here\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the ExtensionTransport shape', () => {
    assert.deepEqual(Object.keys(cliTransport).sort(), ['approvalSurface', 'checkRoute', 'dispatch', 'health']);
  });

  it('checkRoute: a bare allow-listed binary is valid; a shell, a path, shell syntax or an unlisted binary is refused, saying why', () => {
    assert.deepEqual(checkRoute({ bin: 'ls', args: ['-1', '{dir}'], allowedBins: ['ls', 'grep'] }, {}).reasons, []);
    assert.deepEqual(checkRoute({ bin: 'grep', args: ['-r', '{pattern}'] }, {}).reasons, []);
    const cases: [unknown, RegExp][] = [
      [{ bin: 'sh', args: ['-c', '{cmd}'], allowedBins: ['ls', 'grep'] }, /route\.bin 'sh' is not on the route's allowedBins \(ls, grep\)/],
      [{ bin: 'sh', allowedBins: ['sh'] }, /route\.bin 'sh' runs its arguments as code: the cli transport never runs through a shell/],
      [{ bin: 'env', allowedBins: ['env'] }, /route\.bin 'env' runs its arguments as another program/],
      [{ bin: '/bin/ls' }, /route\.bin '\/bin\/ls' is a path: name a bare binary found on PATH \(e\.g\. 'ls'\)/],
      [{ bin: '../ls' }, /is a path/],
      [{ bin: 'ls;rm' }, /route\.bin 'ls;rm' is not a bare binary name .*never runs a shell command line/],
      [{ bin: 'ls *' }, /is not a bare binary name/],
      [{ bin: '-rf' }, /is not a bare binary name/],
      [{ bin: '' }, /route\.bin must be a non-empty string/],
      [{ bin: 'ls', args: 'ls -la' }, /route\.args must be an array of strings/],
      [{ bin: 'ls', args: ['a\0b'] }, /route\.args\[0\] contains a NUL byte/],
      [{ bin: 'ls', allowedBins: ['/usr/bin/ls'] }, /route\.allowedBins\[0\] '\/usr\/bin\/ls' is a path/],
      [{ bin: 'ls', timeoutMs: 10 ** 9 }, /route\.timeoutMs must be an integer from 1 to 600000/],
      [{ bin: 'ls', shell: true }, /route\.shell is not a cli route field/],
      ['ls', /a cli route must be an object/],
    ];
    for (const [route, reason] of cases) {
      const { reasons } = checkRoute(route, {});
      assert.ok(
        reasons.some((r) => reason.test(r)),
        `${JSON.stringify(route)}: ${reasons.join(' | ')}`,
      );
    }
    assert.deepEqual(approvalSurface({ bin: 'rg', args: [] }), { bins: ['rg'] });
  });

  it('buildArgv: each placeholder stays one argument, glued ones too; elements with absent params are left out', () => {
    assert.deepEqual(
      buildArgv(['-n', '{pattern}', '--max-count={max}', '{file}', '--opt={absent}', '{absent}'], {
        pattern: 'a b; echo pwned',
        max: 3,
        file: '$(id) `id` "q"',
        absent: null,
      }),
      ['-n', 'a b; echo pwned', '--max-count=3', '$(id) `id` "q"'],
    );
    assert.throws(
      () => buildArgv(['{p}'], { p: ['a', 'b'] }),
      (e: PlexusError) => e.code === 'schema_validation_failed' && /param 'p' is an array: a cli argument takes a string/.test(e.message),
    );
    assert.throws(() => buildArgv(['{p}'], { p: 'a\0b' }), /contains a NUL byte/);
  });

  it('a value starting with "-" is refused where the program would read it as an option; after "--" or glued it is data', async () => {
    for (const [args, value] of [
      [['{path}'], '-R'],
      [['-1', '{path}', '--', '{other}'], '--upload-pack=touch x'],
      [['{path}suffix'], '-a'],
    ] as const) {
      assert.throws(
        () => buildArgv(args, { path: value, other: 'x' }),
        (e: PlexusError) =>
          e.code === 'schema_validation_failed' &&
          (e.details as { param: string }).param === 'path' &&
          /param 'path' starts with '-', so the program would read it as an option.*put a '--' element before/.test(e.message),
        JSON.stringify(args),
      );
    }
    assert.deepEqual(buildArgv(['-n', '--', '{p}'], { p: '-R /' }), ['-n', '--', '-R /']);
    assert.deepEqual(buildArgv(['--regexp={p}', '{f}'], { p: '-v', f: '-' }), ['--regexp=-v', '-']);
    // Through the transport: ls is never started with the option a caller slipped in.
    const { items, error } = await run({ bin: 'ls', args: ['{path}'] }, { path: '-la' });
    assert.equal(error?.code, 'schema_validation_failed');
    assert.deepEqual(items, []);
  });

  it("route.cwd: the program runs there (not in the hub's cwd); relative is refused; a missing one is unavailable", async () => {
    const inSub = await run({ bin: 'ls', args: ['-1'], cwd: join(dir, 'sub dir') });
    assert.deepEqual(inSub, { items: [{ line: 'a.txt' }, { line: 'b; rm -rf x' }, { line: 'c $(id)' }], error: undefined });
    assert.deepEqual(approvalSurface({ bin: 'ls', cwd: join(dir, 'sub dir') }), { bins: ['ls'], dirs: [join(dir, 'sub dir')] });
    const { surface } = validateManifest({
      manifest: 'plexus-extension/0.1',
      source: 'files',
      transport: 'cli',
      capabilities: [{ name: 'list', describe: 'Lists', grants: ['execute'], route: { bin: 'ls', cwd: join(dir, 'sub dir') } }],
    });
    assert.ok(describeSurface(surface).includes(`directories its programs run in: ${join(dir, 'sub dir')}`));
    assert.match(
      checkRoute({ bin: 'ls', cwd: 'notes' }).reasons.join(' | '),
      /route\.cwd 'notes' is relative: give an absolute directory \(a relative one would depend on where the hub was started\)/,
    );
    const gone = { bin: 'ls', cwd: join(dir, 'gone') };
    assert.deepEqual(await health(gone), { status: 'unavailable', detail: `route.cwd '${join(dir, 'gone')}' does not exist` });
    const { error } = await run(gone);
    assert.equal(error?.code, 'source_unavailable');
    assert.match(error!.message, /route\.cwd '.*gone' does not exist/);
  });

  it('ls streams stdout lines as items; a directory name with spaces is one argument', async () => {
    const { items, error } = await run({ bin: 'ls', args: ['-1', '{dir}'], allowedBins: ['ls'] }, { dir: join(dir, 'sub dir') });
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(items, [{ line: 'a.txt' }, { line: 'b; rm -rf x' }, { line: 'c $(id)' }]);
  });

  it('grep: a value with ";" and "$(…)" is data, never run; a file name with spaces and metacharacters is one argument', async () => {
    const marker = join(dir, 'pwned');
    const { items, error } = await run(
      { bin: 'grep', args: ['-H', '--', '{pattern}', '{file}'], allowedBins: ['grep'] },
      { pattern: `needle; touch ${marker}`, file: join(dir, 'sub dir', 'b; rm -rf x') },
    );
    // grep found nothing (exit 1): the pattern was one argument, not a command.
    assert.equal(error?.code, 'transport_error');
    assert.deepEqual(error!.details, { bin: 'grep', exitCode: 1, signal: null, stderrTail: '' });
    assert.deepEqual(items, []);
    const found = await run(
      { bin: 'grep', args: ['-c', '{pattern}', '{file}'] },
      { pattern: 'needle', file: join(dir, 'sub dir', 'c $(id)') },
    );
    assert.deepEqual(found, { items: [{ line: '1' }], error: undefined });
    // Glued to its option, a value with a space and ';' is still one argument.
    const glued = await run(
      { bin: 'grep', args: ['-c', '--regexp={pattern}', '{file}'] },
      { pattern: 'needle here', file: join(dir, 'sub dir', 'a.txt') },
    );
    assert.deepEqual(glued, { items: [{ line: '1' }], error: undefined });
    const { error: statError } = await run({ bin: 'ls', args: [marker] });
    assert.equal((statError?.details as { exitCode?: number } | undefined)?.exitCode, 2, 'nothing created the marker file');
  });

  it('a non-zero exit is transport_error with the exit code and the stderr tail', async () => {
    const { error } = await run({ bin: 'ls', args: ['{path}'] }, { path: join(dir, 'missing') });
    assert.equal(error?.code, 'transport_error');
    assert.match(error!.message, /^'ls' exited with code 2$/);
    const details = error!.details as { exitCode: number; stderrTail: string; bin: string };
    assert.equal(details.exitCode, 2);
    assert.equal(details.bin, 'ls');
    assert.match(details.stderrTail, /cannot access .*missing.*No such file or directory/);
  });

  it('sh is refused at dispatch as not allow-listed, and nothing runs; /bin/ls is refused as a path', async () => {
    const sh = await run({ bin: 'sh', args: ['-c', '{cmd}'], allowedBins: ['ls', 'grep'] }, { cmd: `touch ${join(dir, 'shell-ran')}` });
    assert.equal(sh.error?.code, 'transport_error');
    assert.match(sh.error!.message, /the cli route is invalid: .*'sh' is not on the route's allowedBins \(ls, grep\)/);
    const path = await run({ bin: '/bin/ls', args: [dir] });
    assert.match(path.error!.message, /route\.bin '\/bin\/ls' is a path/);
    const { error } = await run({ bin: 'ls', args: [join(dir, 'shell-ran')] });
    assert.equal((error?.details as { exitCode?: number } | undefined)?.exitCode, 2, 'the shell never ran');
  });

  it('health: ok naming where the binary is; unavailable naming a binary not on PATH; dispatch then fails with source_unavailable', async () => {
    const ok = await health({ bin: 'grep' });
    assert.equal(ok.status, 'ok');
    assert.match(ok.detail, /^binary 'grep' found at \/.*\/grep$/);
    const missing = await health({ bin: 'no-such-binary-plexus' });
    assert.equal(missing.status, 'unavailable');
    assert.match(missing.detail, /^binary 'no-such-binary-plexus' is not on PATH \(/);
    const { error } = await run({ bin: 'no-such-binary-plexus' });
    assert.equal(error?.code, 'source_unavailable');
    assert.match(error!.message, /binary 'no-such-binary-plexus' is not on PATH/);
  });

  it('the timeout stops the run: recoverable transport_error; the output cap: transport_error after the lines that fit', async () => {
    const slow = await run({ bin: 'sleep', args: ['{s}'], timeoutMs: 300 }, { s: 30 });
    assert.equal(slow.error?.code, 'transport_error');
    assert.equal(slow.error?.recoverable, true);
    assert.match(slow.error!.message, /'sleep' did not finish within 300 ms: its processes were terminated/);
    const big = await run({ bin: 'seq', args: ['100000'], maxOutputBytes: 1000 });
    assert.equal(big.error?.code, 'transport_error');
    assert.match(big.error!.message, /'seq' wrote more than 1000 bytes: the rest was discarded/);
    assert.ok(big.items.length > 100 && big.items.length < 300, `${big.items.length} lines`);
    assert.deepEqual(lines(big.items).slice(0, 3), ['1', '2', '3']);
  });

  it('the child gets the minimal environment: none of the hub’s credentials', async () => {
    process.env.PLEXUS_TEST_CREDENTIAL = 'should-not-leak';
    try {
      // `printenv NAME` exits 1 when the variable is unset.
      const { items, error } = await run({ bin: 'printenv', args: ['{name}'] }, { name: 'PLEXUS_TEST_CREDENTIAL' });
      assert.deepEqual(items, []);
      assert.equal((error?.details as { exitCode?: number } | undefined)?.exitCode, 1);
      const path = await run({ bin: 'printenv', args: ['PATH'] });
      assert.equal(lines(path.items)[0], process.env.PATH);
    } finally {
      delete process.env.PLEXUS_TEST_CREDENTIAL;
    }
  });

  it('cancelling the call stops the program at once, without an error', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = run({ bin: 'sleep', args: ['30'] }, {}, options(controller.signal));
    setTimeout(() => controller.abort(), 100);
    const { items, error } = await pending;
    assert.deepEqual([items, error], [[], undefined]);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('a run ends when its program exits, not after the kill grace: the PID namespace reaper is not a live member', async (t) => {
    if (containmentMode().kind !== 'pid-namespace') return t.skip('no PID namespace here');
    // The reaper ignores SIGTERM, so counting it as live held every contained run for the
    // whole grace period before SIGKILL (2 s per cli call, and per bash call).
    const started = Date.now();
    const events = [];
    for await (const e of runProcess({
      file: 'true',
      args: [],
      cwd: dir,
      env: { PATH: process.env.PATH! },
      timeoutMs: 30_000,
      graceMs: 10_000,
      maxOutputBytes: 1000,
    }))
      events.push(e.kind);
    assert.deepEqual(events, ['exit']);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms with a 10 s grace`);
  });
});
