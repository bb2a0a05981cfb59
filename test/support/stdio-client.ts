/**
 * The raw client over a `hub serve --stdio` child process: the same frames and
 * waits as `RawClient` (one JSON-RPC message a line instead of a WebSocket frame),
 * so a test can compare what stdio and WebSocket say byte for byte.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type WebSocket from 'ws';
import { ensureBuilt } from './built.js';
import { eventually } from './helpers.js';
import { RawClient } from './raw-client.js';
import { HUB_BIN, REPO_ROOT } from './repo.js';

/** What RawClient uses of a WebSocket, over a child's stdin and stdout. */
class StdioLink {
  readonly #listeners: ((data: Buffer) => void)[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      for (const l of this.#listeners) l(Buffer.from(line));
    });
  }

  on(event: 'message', listener: (data: Buffer) => void): void {
    if (event === 'message') this.#listeners.push(listener);
  }

  send(text: string): void {
    this.child.stdin!.write(`${text}\n`);
  }

  close(): void {
    this.child.stdin!.end();
  }
}

export class StdioClient extends RawClient {
  /** Every line the child wrote to stderr so far. */
  readonly stderr: string[] = [];

  constructor(readonly child: ChildProcess) {
    const link = new StdioLink(child);
    super(link as unknown as WebSocket);
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l));
  }

  /** Starts `hub serve --stdio` with `args` (flags and activation files) in the repository root. */
  static start(args: readonly string[], env: NodeJS.ProcessEnv = {}): StdioClient {
    ensureBuilt();
    const child = spawn(process.execPath, [HUB_BIN, 'serve', '--stdio', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new StdioClient(child);
  }

  /** Resolves once the hub has said it serves on stdio (its start-up line on stderr); fails if it exits first. */
  async started(ms = 120_000): Promise<void> {
    await eventually(() => {
      if (this.child.exitCode !== null) throw new Error(`hub exited with ${this.child.exitCode}: ${this.stderr.join('\n')}`);
      return this.stderr.some((l) => / on stdio\b/.test(l));
    }, ms);
  }

  /** Closes stdin and resolves once the child exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.close();
    await exited;
  }
}
