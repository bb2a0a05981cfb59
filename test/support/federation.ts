import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { PlexusClient, type StreamItem } from '../../src/index.js';
import { REPO_ROOT as root } from './repo.js';

export const HUB = `${root}bin/hub.js`;
export const INVENTORY = 'test/fixtures/inventory.ts';

export interface HubProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Every line it printed so far. */
  readonly lines: string[];
  stop(): Promise<void>;
}

/** Starts `hub serve` in its own process (port 0 unless given) and resolves with the URL it prints. */
export async function serveHub(args: string[], port = 0): Promise<HubProcess> {
  const child = spawn(process.execPath, [HUB, 'serve', '--port', String(port), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
  const out = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    out.on('line', (line) => {
      lines.push(line);
      const m = / on (ws:\/\/\S+)$/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hub serve exited with ${code}: ${lines.join('\n')}`)));
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** A port nothing listens on (taken and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** Every item of one call through a fresh client. */
export async function callItems(url: string, path: string, params: Record<string, unknown> = {}): Promise<StreamItem[]> {
  const client = new PlexusClient({ url, connectAttempts: 1 });
  try {
    const out: StreamItem[] = [];
    for await (const item of client.call(path, params)) out.push(item);
    return out;
  } finally {
    client.close();
  }
}

/** Retries `fn` until it stops throwing (or gives up after `ms`). */
export async function until<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Resident memory of a process, in bytes (Linux). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
