import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import {
  readEnviron,
  environValue,
  isLive,
  pidNamespace,
  procTable,
  readProc,
  readProcText,
  signalExact,
  valueIn,
  type ProcEntry,
} from './proc-table.js';

/**
 * How the processes of one call are kept from outliving it, in the order of
 * preference (probed once per process; the start log names the one in use):
 *
 * - `pid-namespace` (the default where `unshare --pid` works): the program runs as the
 *   second process of a new PID namespace whose init is a small reaper; killing that
 *   init kills every process in the namespace at once, and no process can leave it.
 *   The program sees namespace pids (`$$` is 2), and its exit is relayed by a shell
 *   outside the namespace, so an exit status of 129–159 reads as death by signal.
 * - a delegated cgroup v2 (`pids.max`, `cgroup.kill`): not implemented; the probe
 *   only says in the start log whether one was there.
 * - `proc-sweep` (the fallback on Linux): every process of the call is found in /proc
 *   by the call's environment marker or by descent from one already found, sampled
 *   every 100 ms while the call runs and again whenever it is stopped; all of them are
 *   signalled, whatever they did to their process group or session (`set -m`,
 *   `setsid`). A process that both clears its environment and is orphaned between two
 *   samples (a double fork under `env -i` within 100 ms) can escape.
 * - `process-group`: not Linux (no /proc), or asked for: only the process group.
 *
 * In every mode the process group is signalled too, and the per-call process cap is
 * checked on each sample.
 */
export type ContainmentKind = 'pid-namespace' | 'proc-sweep' | 'process-group';

/** The environment variable that names a call's processes: `<owner pid>.<owner start>.<call>`. */
export const CALL_MARKER = 'PLEXUS_CALL';
/** Set only in the namespace's reaper loop, so its `sleep` is not counted as the command's. */
const INIT_MARKER = 'PLEXUS_CALL_INIT';

/** Default cap on the processes (tasks) of one call. */
export const DEFAULT_MAX_PROCESSES = 256;
/** How often a running call's processes are sampled (cap, escapes). */
export const SAMPLE_INTERVAL_MS = 100;

/**
 * Runs outside the namespace (after `unshare --pid`, which only moves its children):
 * first the namespace's init, a subshell that ignores the signals a terminal or the
 * hub's SIGTERM would send, reaps the orphans reparented to it (sh waits for any child)
 * and holds none of the program's pipes; then the program, as the namespace's second
 * process, so it may start threads (a process whose children go to another PID
 * namespace may not). Its status is relayed: a signal death by the same signal
 * (this shell is outside the namespace, so it can die of one), else the exit code.
 */
const SHIM = `(trap '' HUP INT TERM QUIT; export ${INIT_MARKER}=1; while :; do sleep 86400; done) </dev/null >/dev/null 2>&1 &
"$@"; s=$?
if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then trap - $((s - 128)) 2>/dev/null; kill -$((s - 128)) $$ 2>/dev/null; fi
exit $s`;

/** Variables a POSIX shell sets and exports on its own. */
const SHELL_VARIABLES = ['PWD', 'OLDPWD', 'SHLVL'] as const;

interface Mode {
  readonly kind: ContainmentKind;
  /** `unshare` arguments before `--` (pid-namespace only). */
  readonly unshare: readonly string[];
  readonly detail: string;
}

/** Whether `unshare <args>` works here; `--fork` so that nothing of the probe outlives it. */
function probeNamespace(unshareArgs: readonly string[]): boolean {
  const r = spawnSync('unshare', [...unshareArgs, '--fork', '--', '/bin/sh', '-c', 'echo contained'], {
    encoding: 'utf8',
    timeout: 5000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return r.status === 0 && r.stdout.trim() === 'contained';
}

/**
 * What a caller may ask for: `auto` (the default: the best the system allows),
 * `namespace` (a PID namespace where `unshare` allows one, else the sweep), `sweep` or
 * `group`. `PLEXUS_PROCESS_CONTAINMENT` (the same words) decides for every `auto` caller.
 */
export type ContainmentRequest = 'auto' | 'namespace' | 'sweep' | 'group';

const REQUESTS: readonly string[] = ['auto', 'namespace', 'sweep', 'group'];
let probedNamespace: readonly string[] | null | undefined;

/**
 * Whether a delegated cgroup v2 is there, for the start log only: containing a call
 * in one is not implemented (no machine to test it on had one).
 */
function cgroupNote(): string {
  try {
    const own = readProcText('/proc/self/cgroup') ?? '';
    const path = /^0::(.*)$/m.exec(own)?.[1];
    if (path === undefined || !existsSync('/sys/fs/cgroup/cgroup.controllers')) return 'no cgroup v2 hierarchy at /sys/fs/cgroup';
    accessSync(join('/sys/fs/cgroup', path), constants.W_OK);
    return 'a writable cgroup v2 is there, but containing calls in one is not implemented';
  } catch {
    return 'no delegated cgroup v2';
  }
}

export function containmentMode(request: ContainmentRequest = 'auto'): Mode {
  const env = process.env.PLEXUS_PROCESS_CONTAINMENT;
  const fromEnv = request === 'auto' && env !== undefined && REQUESTS.includes(env) && env !== 'auto';
  const asked = fromEnv ? (env as ContainmentRequest) : request;
  const why = fromEnv ? `PLEXUS_PROCESS_CONTAINMENT=${env}` : asked === 'auto' ? 'the default' : `asked for ${asked}`;
  if (process.platform !== 'linux')
    return { kind: 'process-group', unshare: [], detail: 'the process group only: no /proc on this system' };
  if (asked === 'group') return { kind: 'process-group', unshare: [], detail: `the process group only, ${why}` };
  if (asked === 'sweep') return { kind: 'proc-sweep', unshare: [], detail: why };
  // As root a PID namespace needs no user namespace; an ordinary user needs one (and
  // keeps its own uid inside). Where neither works (no unshare, namespaces disabled
  // or forbidden by a seccomp profile), fall back to the sweep.
  probedNamespace ??= [['--pid'], ['--user', '--map-current-user', '--pid']].find((args) => probeNamespace(args)) ?? null;
  if (probedNamespace) return { kind: 'pid-namespace', unshare: probedNamespace, detail: `${why}: unshare ${probedNamespace.join(' ')}` };
  return { kind: 'proc-sweep', unshare: [], detail: `${why}; unshare --pid is refused here, ${cgroupNote()}` };
}

/** This process, as owners of markers name it: a pid alone could be reused. */
const owner = (() => {
  const self = process.platform === 'linux' ? readProc(process.pid) : undefined;
  return `${process.pid}.${self?.start ?? 0}`;
})();
let calls = 0;

/**
 * Kills what a hub that died without cleaning up (SIGKILL, OOM) left running: every
 * process whose marker names an owner that no longer exists (same pid and same start
 * time). A live hub's processes, this one's included, are never touched, and nothing
 * is matched by pid alone. Returns how many were killed.
 */
export function reapLeftovers(): number {
  if (process.platform !== 'linux') return 0;
  let reaped = 0;
  const owners = new Map<string, boolean>();
  for (const p of procTable()) {
    if (!isLive(p) || p.pid === process.pid) continue;
    const marker = environValue(p.pid, CALL_MARKER);
    if (!marker) continue;
    const [pid, start] = marker.split('.');
    const key = `${pid}.${start}`;
    let alive = owners.get(key);
    if (alive === undefined) {
      const o = readProc(Number(pid));
      alive = o !== undefined && isLive(o) && String(o.start) === start;
      owners.set(key, alive);
    }
    if (alive) continue;
    signalExact(p, 'SIGKILL');
    reaped++;
  }
  return reaped;
}

let announced = false;

/**
 * Once per process: decide the mode, reap a dead hub's leftovers, and say both in one
 * line (the start log names the containment in use).
 */
export function announceContainment(log: (line: string) => void, maxProcesses: number, request: ContainmentRequest = 'auto'): void {
  if (announced) return;
  announced = true;
  const m = containmentMode(request);
  const reaped = reapLeftovers();
  log(
    `plexus-hub: process containment: ${m.kind} (${m.detail}); at most ${maxProcesses} processes per call` +
      (reaped > 0 ? `; killed ${reaped} left behind by a hub that died` : ''),
  );
}

/** The program's path when it can be found, else undefined (then it is spawned bare, to fail as usual). */
function resolveProgram(file: string, env: NodeJS.ProcessEnv): string | undefined {
  const executable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (file.includes('/')) return executable(file) ? file : undefined;
  for (const dir of (env.PATH ?? process.env.PATH ?? '').split(delimiter)) {
    if (dir && isAbsolute(dir) && executable(join(dir, file))) return join(dir, file);
  }
  return undefined;
}

/** What to spawn for one contained call. */
export interface Launch {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/** Sampled state shared by every call during one tick. */
interface Sample {
  readonly table: ProcEntry[];
  readonly byPid: Map<number, ProcEntry>;
}

/** (pid, start) → marker value and whether it is the namespace's reaper loop. */
const environCache = new Map<string, { marker: string | undefined; init: boolean }>();

function environOf(p: ProcEntry): { marker: string | undefined; init: boolean } {
  const key = `${p.pid}:${p.start}`;
  let hit = environCache.get(key);
  if (!hit) {
    const env = readEnviron(p.pid);
    hit = { marker: valueIn(env, CALL_MARKER), init: valueIn(env, INIT_MARKER) === '1' };
    // An empty read is no answer: read mid-execve it would hide the marker of a process
    // for good (under load the window is wide enough to lose a job). Read it again next
    // time; only processes that cleared their environment pay for that.
    if (env) environCache.set(key, hit);
  }
  return hit;
}

function takeSample(): Sample {
  const table = procTable();
  const byPid = new Map(table.map((p) => [p.pid, p]));
  // Forget processes that are gone, so the cache follows the process table.
  for (const key of environCache.keys()) {
    const [pid, start] = key.split(':');
    if (byPid.get(Number(pid))?.start !== Number(start)) environCache.delete(key);
  }
  return { table, byPid };
}

const ownNamespace = process.platform === 'linux' ? pidNamespace(process.pid) : undefined;

/**
 * The processes of one call: found by its marker, by the PID namespace it runs in,
 * and by descent from either; remembered by (pid, start time) so a reused pid is
 * never mistaken for one of them.
 */
export class CallProcesses {
  readonly kind: ContainmentKind;
  readonly #mode: Mode;
  readonly marker = `${owner}.${++calls}`;
  readonly maxProcesses: number;
  #leader: ProcEntry | undefined;
  #namespace: string | undefined;
  #init: ProcEntry | undefined;
  /** Every process of the call seen so far that may still run, by pid. */
  readonly #members = new Map<number, ProcEntry>();
  #onLimit: ((count: number) => void) | undefined;
  #live = 0;

  constructor(maxProcesses: number, request: ContainmentRequest = 'auto') {
    this.#mode = containmentMode(request);
    this.kind = this.#mode.kind;
    this.maxProcesses = maxProcesses;
  }

  /** The program wrapped for this mode; the marker is in its environment in every mode. */
  launch(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Launch {
    const marked = { ...env, [CALL_MARKER]: this.marker };
    const m = this.#mode;
    const program = m.kind === 'pid-namespace' ? resolveProgram(file, env) : undefined;
    if (!program) return { file, args, env: marked };
    // The relaying shell exports what it sets itself (dash: PWD; bash: also SHLVL, OLDPWD);
    // the program gets exactly the environment it was given.
    const added = SHELL_VARIABLES.filter((name) => env[name] === undefined);
    const shim = added.length > 0 ? `unset ${added.join(' ')}\n${SHIM}` : SHIM;
    return { file: 'unshare', args: [...m.unshare, '--', '/bin/sh', '-c', shim, 'plexus-call', program, ...args], env: marked };
  }

  /** Starts sampling once the program runs; `onLimit` is told when the call passes the cap. */
  started(leader: number, onLimit: (count: number) => void): void {
    if (this.kind === 'process-group') return;
    this.#leader = readProc(leader);
    this.#onLimit = onLimit;
    sampler.add(this);
  }

  /** Processes of the call still running, not counting the namespace's own reaper. */
  get liveCount(): number {
    return this.#live;
  }

  /** Re-reads the call's processes from a sample (a fresh one when none is given). */
  update(sample: Sample = takeSample()): void {
    if (this.kind === 'process-group') return;
    if (this.kind === 'pid-namespace' && this.#namespace === undefined && this.#leader !== undefined) {
      const ns = pidNamespace(this.#leader.pid, 'pid_for_children');
      if (ns !== undefined && ns !== ownNamespace) this.#namespace = ns;
    }
    const children = new Map<number, ProcEntry[]>();
    for (const p of sample.table) {
      const list = children.get(p.ppid);
      if (list) list.push(p);
      else children.set(p.ppid, [p]);
    }
    const found = new Map<number, ProcEntry>();
    const queue: ProcEntry[] = [];
    const add = (p: ProcEntry) => {
      if (found.has(p.pid)) return;
      found.set(p.pid, p);
      queue.push(p);
    };
    for (const p of sample.table) {
      const known = this.#members.get(p.pid);
      if (known && known.start === p.start) add(p);
      else if (p.pid === this.#leader?.pid && p.start === this.#leader.start) add(p);
      else if (this.#namespace !== undefined && pidNamespace(p.pid) === this.#namespace) add(p);
      else if (environOf(p).marker === this.marker) add(p);
    }
    // Descendants: whatever a member started is the call's, wherever it went since.
    while (queue.length > 0) for (const c of children.get(queue.pop()!.pid) ?? []) add(c);
    this.#members.clear();
    let live = 0;
    let reaperLoops = 0;
    for (const p of found.values()) {
      if (!isLive(p)) continue;
      this.#members.set(p.pid, p);
      if (this.kind === 'pid-namespace' && this.#init === undefined && p.pid !== this.#leader?.pid && isNamespaceInit(p.pid))
        this.#init = p;
      if (this.#init && p.pid === this.#init.pid) continue;
      // The reaper's own `sleep`: one direct child of the init marked as such.
      if (this.#init && p.ppid === this.#init.pid && reaperLoops === 0 && environOf(p).init) {
        reaperLoops++;
        continue;
      }
      live++;
    }
    this.#live = live;
    if (live > this.maxProcesses) this.#onLimit?.(live);
  }

  /** Sends `sig` to every process of the call (the namespace's init ignores all but SIGKILL). */
  signal(sig: NodeJS.Signals): void {
    if (this.kind === 'process-group') return;
    this.update();
    for (const p of this.#members.values()) signalExact(p, sig);
  }

  /**
   * Kills everything of the call at once: the namespace's init (the kernel then kills
   * every process in the namespace) and every tracked process. Synchronous, so it can
   * run in an `exit` handler.
   */
  kill(): void {
    if (this.kind === 'process-group') return;
    if (this.#init) signalExact(this.#init, 'SIGKILL');
    this.signal('SIGKILL');
  }

  /** True while a process of the call other than the namespace's reaper runs. */
  hasLive(): boolean {
    if (this.kind === 'process-group') return false;
    this.update();
    return this.#live > 0;
  }

  /** True while anything of the call runs, the reaper included. */
  anyRunning(): boolean {
    if (this.kind === 'process-group') return false;
    this.update();
    return this.#members.size > 0;
  }

  /** The call is over: stop sampling. */
  release(): void {
    sampler.delete(this);
  }
}

/** `NSpid:` in /proc/<pid>/status ends in 1 for a namespace's init. */
function isNamespaceInit(pid: number): boolean {
  try {
    const status = readProcText(`/proc/${pid}/status`) ?? '';
    const line = /^NSpid:\s*(.*)$/m.exec(status)?.[1];
    return line !== undefined && line.trim().split(/\s+/).at(-1) === '1';
  } catch {
    return false;
  }
}

/** One timer samples every running call: one /proc read per tick, however many calls. */
const sampler = new (class {
  readonly #calls = new Set<CallProcesses>();
  #timer: NodeJS.Timeout | undefined;

  add(call: CallProcesses): void {
    this.#calls.add(call);
    this.#timer ??= setInterval(() => this.#tick(), SAMPLE_INTERVAL_MS).unref();
  }

  delete(call: CallProcesses): void {
    this.#calls.delete(call);
    if (this.#calls.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #tick(): void {
    const sample = takeSample();
    for (const call of this.#calls) call.update(sample);
  }
})();
