import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { announceContainment, CallProcesses, DEFAULT_MAX_PROCESSES, type ContainmentRequest } from './containment.js';

/** Groups that may still have members; killed outright if the hub process exits first. */
const liveGroups = new Set<ProcessGroup>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // `process.exit()` skips pending timers, so a SIGKILL scheduled after the grace
  // period would never be sent. Send it now: kill() is synchronous.
  process.on('exit', () => {
    for (const group of liveGroups) group.kill();
  });
}

export interface SpawnSpec {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Cap on the call's processes (default 256); past it every one is killed. */
  readonly maxProcesses?: number;
  /** How the call's processes are contained (default `auto`: the best the system allows). */
  readonly containment?: ContainmentRequest;
}

/**
 * A child process started as the leader of its own process group (`setsid` via
 * `detached: true`), so that everything it starts — pipelines, background jobs,
 * grandchildren — can be signalled at once with `kill(-pgid)`, and contained
 * (`CallProcesses`: a PID namespace where the system allows one) so that what leaves
 * the group (`set -m`, `setsid`) is reached too. stdin is /dev/null: an inherited
 * stdin would read the hub's own stdio transport.
 */
export class ProcessGroup {
  readonly child: ChildProcess;
  /** The leader's pid, which is also the group id; undefined when spawning failed. */
  readonly pgid: number | undefined;
  /** Every process of the call, wherever it went. */
  readonly processes: CallProcesses;
  #terminating: Promise<void> | undefined;

  /** `onLimit` is told (once) when the call passes its process cap; the caller stops the run. */
  constructor(spec: SpawnSpec, onLimit: (count: number) => void = () => {}) {
    installExitHook();
    // An activation that did not announce at start (claudecode) still reaps a dead hub's
    // leftovers and names its containment, at its first call.
    announceContainment((line) => process.stderr.write(`${line}\n`), spec.maxProcesses ?? DEFAULT_MAX_PROCESSES, spec.containment);
    this.processes = new CallProcesses(spec.maxProcesses ?? DEFAULT_MAX_PROCESSES, spec.containment);
    const launch = this.processes.launch(spec.file, spec.args, spec.env);
    this.child = spawn(launch.file, launch.args, { cwd: spec.cwd, env: launch.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pgid = this.child.pid;
    if (this.pgid === undefined) return;
    liveGroups.add(this);
    let told = false;
    this.processes.started(this.pgid, (count) => {
      if (told) return;
      told = true;
      onLimit(count);
    });
  }

  get leaderExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Sends `sig` to every process of the group and of the call; what is already gone is fine. */
  signal(sig: NodeJS.Signals): void {
    if (this.pgid === undefined) return;
    // The call's processes first: their list is read from /proc before anything dies,
    // while every one is still reachable by descent from the shell. Signalling the
    // group first would orphan a job that dropped its marker (env -i) before the
    // sweep had seen it, and lose it.
    this.processes.signal(sig);
    try {
      process.kill(-this.pgid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** SIGKILL to everything of the call at once (synchronous: safe in an `exit` handler). */
  kill(): void {
    this.signal('SIGKILL');
    this.processes.kill();
  }

  /** True while any process of the group or of the call is running (zombies do not count). */
  hasLiveMembers(): boolean {
    if (this.pgid === undefined) return false;
    if (!this.leaderExited) return true;
    // In a PID namespace every process of the call but the leader is inside it, where the
    // call's processes count them; the group also holds the namespace's reaper, which
    // ignores SIGTERM and would hold every run for the whole grace period.
    if (this.processes.kind === 'pid-namespace') return this.processes.hasLive();
    return groupHasLiveMembers(this.pgid) || this.processes.hasLive();
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
      if (this.hasLiveMembers()) {
        this.signal('SIGTERM');
        if (!(await this.#waitUntilGone(graceMs))) this.signal('SIGKILL');
      }
      // The namespace's reaper (and, under a sweep, anything the samples still know)
      // goes last, at once: nothing of the call survives it.
      this.processes.kill();
      await this.#waitUntilGone(5000, () => this.processes.anyRunning());
    } finally {
      this.release();
    }
  }

  /** Forget the group: it has no members left (called once the run is over). */
  release(): void {
    liveGroups.delete(this);
    this.processes.release();
  }

  async #waitUntilGone(ms: number, running = () => this.hasLiveMembers()): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      if (!running()) return true;
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
