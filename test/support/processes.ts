/**
 * Process checks for tests of process-backed activations (Linux /proc). Every
 * command a test starts carries PLEXUS_TEST_MARK in its environment, which its
 * children inherit, so a leftover process is found wherever it was reparented.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { procStat } from '../../activations/process/index.js';
import { eventually } from './helpers.js';

export const HAS_PROC = process.platform === 'linux';
export const SKIP_NO_PROC = HAS_PROC ? false : 'needs Linux /proc to check processes by pid';

/** A running process (a zombie has exited: it only waits to be reaped). */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

export async function assertGone(pids: readonly number[], ms = 5000): Promise<void> {
  assert.ok(pids.length > 0 && pids.every((p) => Number.isInteger(p) && p > 1), `bad pids ${pids}`);
  await eventually(() => pids.every((p) => !isRunning(p)), ms);
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** Running processes whose environment holds `PLEXUS_TEST_MARK=<mark>`. */
export function markedProcesses(mark: string): number[] {
  const needle = `PLEXUS_TEST_MARK=${mark}\0`;
  return pids().filter((pid) => {
    try {
      return isRunning(pid) && readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle);
    } catch {
      return false;
    }
  });
}

/** Zombies whose parent is this process: children we never reaped. */
export function ownZombies(): number[] {
  return pids().filter((pid) => {
    const s = procStat(pid);
    return s?.ppid === process.pid && s.state === 'Z';
  });
}

/** The end-of-file check: nothing a test started is still running, and we reaped all our children. */
export async function assertNoLeftovers(mark: string): Promise<void> {
  await eventually(() => markedProcesses(mark).length === 0 && ownZombies().length === 0, 5000).catch(() => {
    assert.fail(`leftover processes: running ${JSON.stringify(markedProcesses(mark))}, own zombies ${JSON.stringify(ownZombies())}`);
  });
}
