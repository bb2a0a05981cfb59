import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Groups that may still have members; killed outright if the hub process exits first. */
const liveGroups = new Set<ProcessGroup>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // `process.exit()` skips pending timers, so a SIGKILL scheduled after the grace
  // period would never be sent. Send it now: kill() is synchronous.
  process.on('exit', () => {
    for (const group of liveGroups) group.signal('SIGKILL');
  });
}

export interface SpawnSpec {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * A child process started as the leader of its own process group (`setsid` via
 * `detached: true`), so that everything it starts — pipelines, background jobs,
 * grandchildren — can be signalled at once with `kill(-pgid)`. stdin is /dev/null:
 * an inherited stdin would read the hub's own stdio transport.
 */
export class ProcessGroup {
  readonly child: ChildProcess;
  /** The leader's pid, which is also the group id; undefined when spawning failed. */
  readonly pgid: number | undefined;
  #terminating: Promise<void> | undefined;

  constructor(spec: SpawnSpec) {
    installExitHook();
    this.child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pgid = this.child.pid;
    if (this.pgid !== undefined) liveGroups.add(this);
  }

  get leaderExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Sends `sig` to every process of the group; a group that is already gone is fine. */
  signal(sig: NodeJS.Signals): void {
    if (this.pgid === undefined) return;
    try {
      process.kill(-this.pgid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** True while any process of the group is running (zombies do not count). */
  hasLiveMembers(): boolean {
    if (this.pgid === undefined) return false;
    if (!this.leaderExited) return true;
    return groupHasLiveMembers(this.pgid);
  }

  /**
   * SIGTERM to the whole group, then SIGKILL to whatever is left after `graceMs`.
   * Resolves when no member is running. Idempotent.
   */
  terminate(graceMs: number): Promise<void> {
    this.#terminating ??= this.#terminate(graceMs);
    return this.#terminating;
  }

  async #terminate(graceMs: number): Promise<void> {
    try {
      if (!this.hasLiveMembers()) return;
      this.signal('SIGTERM');
      if (await this.#waitUntilGone(graceMs)) return;
      this.signal('SIGKILL');
      await this.#waitUntilGone(5000);
    } finally {
      liveGroups.delete(this);
    }
  }

  /** Forget the group: it has no members left (called once the run is over). */
  release(): void {
    liveGroups.delete(this);
  }

  async #waitUntilGone(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      if (!this.hasLiveMembers()) return true;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, until - Date.now()))));
    }
  }
}

/**
 * Whether a process group has a running member. On Linux /proc tells running
 * processes from zombies: an orphaned grandchild whose exit nobody reaps (a
 * container whose PID 1 does not reap) must not look alive forever. Elsewhere,
 * kill(-pgid, 0).
 */
export function groupHasLiveMembers(pgid: number): boolean {
  if (process.platform !== 'linux') {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

export interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
}

/** `/proc/<pid>/stat` of a process, or undefined when it is gone (Linux only). */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name is parenthesised and may itself contain spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]) };
}
