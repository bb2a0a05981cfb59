/**
 * `hub call` at a terminal: a question that ends before it is answered (its timeout,
 * the call ending) ends the prompt with a line saying so; the call finishes without
 * waiting for a keypress, and a late line is never taken as an answer.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { CANCELLED_ANSWER as CANCELLED, type ClientRequest } from '../../src/index.js';
import { TerminalPrompter } from '../../cli/prompt.js';
import { eventually } from '../support/helpers.js';
import { startHub, type HubProcess } from '../support/hub-process.js';
import { HUB_BIN, REPO_ROOT } from '../support/repo.js';

function question(prompt: string, signal: AbortSignal): ClientRequest {
  return { requestId: 'r1', data: { prompt, schema: { type: 'boolean' } }, timeoutMs: 1000, path: 'x.y', signal };
}

/** A prompter on a fake terminal, and what it has shown so far. */
function terminal(): { input: PassThrough; prompter: TerminalPrompter; screen: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d) => (shown += d));
  return { input, prompter: new TerminalPrompter(input, output), screen: () => shown };
}

describe('TerminalPrompter: a question that ends first', () => {
  it('ends the prompt with the reason, declines, and reports a late line as ignored', async () => {
    const { input, prompter, screen } = terminal();
    try {
      const ended = new AbortController();
      const answer = prompter.answer(question('Proceed?', ended.signal));
      await eventually(() => screen().includes('? Proceed? (y/n) '));
      ended.abort(new Error('the question timed out after 0.5 s'));
      assert.deepEqual(await answer, CANCELLED);
      assert.equal(screen(), '? Proceed? (y/n) \n(no answer: the question timed out after 0.5 s)\n');
      input.write('y\n');
      await eventually(() => screen().includes('(ignored "y": its question had ended)\n'));
    } finally {
      prompter.close();
    }
  });

  it('a line typed once the next question is on the screen answers that question', async () => {
    const { input, prompter, screen } = terminal();
    try {
      const first = new AbortController();
      const answered = prompter.answer(question('First?', first.signal));
      await eventually(() => screen().includes('First?'));
      first.abort(new Error('the call ended'));
      assert.deepEqual(await answered, CANCELLED);
      const second = prompter.answer(question('Second?', new AbortController().signal));
      await eventually(() => screen().includes('Second?'));
      input.write('n\n');
      assert.equal(await second, false);
      assert.doesNotMatch(screen(), /ignored/);
    } finally {
      prompter.close();
    }
  });

  it('a question already ended is not asked', async () => {
    const { prompter, screen } = terminal();
    const ended = new AbortController();
    ended.abort(new Error('the call was cancelled'));
    assert.deepEqual(await prompter.answer(question('Late?', ended.signal)), CANCELLED);
    assert.match(screen(), /\(no answer: the call was cancelled\)\n$/);
    prompter.close();
  });
});

describe('hub call on a pseudo-terminal (script(1)): the prompt ends with the question', {
  skip: existsSync('/usr/bin/script') ? false : 'script(1) is not installed (util-linux)',
}, () => {
  let server: HubProcess;
  before(async () => {
    server = await startHub({ args: ['--no-builtins', 'test/fixtures/questions.ts'] });
  });
  after(() => server.stop());

  /** Runs `hub call <args>` on a pty and types nothing; resolves with its exit code and screen. */
  function onTerminal(args: string[]): Promise<{ code: number | null; screen: string }> {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, HUB_BIN, 'call', ...args, '--url', server.url].map(quote).join(' ');
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout!.on('data', (d) => (screen += d));
    // The old prompt waited for a line forever: give up (and fail) well before the test's own timeout.
    const hang = setTimeout(() => child.kill('SIGKILL'), 30_000);
    return new Promise((resolve) =>
      child.once('exit', (code) => {
        clearTimeout(hang);
        resolve({ code, screen });
      }),
    );
  }

  it('a question that times out: the prompt says so and the call finishes', async () => {
    const { code, screen } = await onTerminal(['questions.timed', '--timeout_ms', '700']);
    assert.equal(code, 0, screen);
    assert.match(screen, /\? Proceed\? \(y\/n\) \r?\n\(no answer: (the question timed out after 0\.7 s|the call ended)\)\r?\n/);
    assert.match(screen, /"timed_out": true/);
  });

  it('a call that ends while its question is open: the prompt says so', async () => {
    const { code, screen } = await onTerminal(['questions.abandons', '--after_ms', '500']);
    assert.equal(code, 0, screen);
    assert.match(screen, /\? Name\? \r?\n\(no answer: the call ended\)\r?\n/);
    assert.match(screen, /"step": "gave up waiting"/);
  });
});
