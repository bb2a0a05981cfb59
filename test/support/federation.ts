import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { PlexusClient, type StreamItem } from '../../src/index.js';

export const INVENTORY = 'test/fixtures/inventory.ts';

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
