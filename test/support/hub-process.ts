/**
 * The one way tests start the `hub` CLI as a listening server: `hub serve` (or
 * `hub mcp --http`) on a port of its own, resolved once it has printed its last
 * start-up line, so a test never guesses how long a start takes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ensureBuilt } from './built.js';
import { HUB_BIN, REPO_ROOT } from './repo.js';

export interface StartHubOptions {
  /** Arguments after the command and its `--port`: flags and activation files. */
  readonly args?: readonly string[];
  /** `serve` (WebSocket, with MCP over HTTP beside it) or `mcp` (pass `--http` in args). */
  readonly command?: 'serve' | 'mcp';
  /** Added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory (default: the repository root, so `test/fixtures/...` resolves). */
  readonly cwd?: string;
  /** Port to listen on (default 0: one the system picks). */
  readonly port?: number;
  /** The `bin/hub.js` to run (default this repository's): a copy of the package runs its own dist/. */
  readonly bin?: string;
}

export interface HubProcess {
  readonly child: ChildProcess;
  /** The URL of the first `... on <url>` line: ws:// for `serve`, http://.../mcp for `mcp --http`. */
  readonly url: string;
  readonly port: number;
  /** Every line it printed so far, stdout and stderr. */
  readonly lines: string[];
  /** The same lines, joined. */
  output(): string;
  /** Sends `signal` (default SIGKILL) unless it already exited; resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The hub exited before it was listening. */
export class HubExitedError extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`hub exited with ${code} before listening:\n${output}`);
  }
}

/** The last line both `hub serve` and `hub mcp --http` print once they listen. */
const READY = /^plexus-hub: auth /;
const LISTENING_ON = / on ((?:ws|http):\/\/\S+)$/;

export async function startHub(options: StartHubOptions = {}): Promise<HubProcess> {
  ensureBuilt();
  const { args = [], command = 'serve', env = {}, cwd = REPO_ROOT, port = 0, bin = HUB_BIN } = options;
  const child = spawn(process.execPath, [bin, command, '--port', String(port), ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const output = () => lines.join('\n');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Lines may still be buffered when `exit` fires; `close` comes after all output.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
  let url: string | undefined;
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      url ??= LISTENING_ON.exec(line)?.[1];
      if (READY.test(line) && url) resolve();
    });
    void closed.then(async () => reject(new HubExitedError(await exited, output())));
  });
  return {
    child,
    url: url!,
    port: Number(new URL(url!).port),
    lines,
    output,
    stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A one-shot `hub <args>` (not a server): its exit code and output, whether it failed or not. */
export function runHubCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [HUB_BIN, ...args],
      { cwd: REPO_ROOT, env: options.env ?? process.env },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(options.input ?? '');
  });
}
