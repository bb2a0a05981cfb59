import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';

/**
 * Reads a /proc file whole with one open and as few reads as it needs: several times
 * cheaper than `readFileSync`, which matters because a call's processes are sampled
 * by reading every process's `stat` many times a second.
 */
let buffer = Buffer.alloc(16 * 1024);
export function readProcText(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const bigger = Buffer.alloc(buffer.length * 2);
        buffer.copy(bigger);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.toString('latin1', 0, length);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** One running (or zombie) process as /proc shows it. */
export interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** R, S, D, Z, … ; Z and X have exited. */
  readonly state: string;
  /** Clock ticks after boot: with the pid, it names one process even after the pid is reused. */
  readonly start: number;
}

export const isLive = (p: ProcEntry): boolean => p.state !== 'Z' && p.state !== 'X';

/** `/proc/<pid>/stat` of a process, or undefined when it is gone (Linux only). */
export function readProc(pid: number): ProcEntry | undefined {
  const text = readProcText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // The command name is parenthesised and may itself contain spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]), start: Number(fields[19]) };
}

/** Every process on the machine (those that vanish while we read are skipped). */
export function procTable(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const p = readProc(Number(entry));
    if (p) out.push(p);
  }
  return out;
}

/**
 * The environment the process was started with (NUL-separated), or undefined when it
 * cannot be read. Empty for a moment in the middle of an `execve` (the new image is in
 * place, its environment not yet), as for a process that cleared it (`env -i`).
 */
export function readEnviron(pid: number): string | undefined {
  return readProcText(`/proc/${pid}/environ`);
}

/** The value of `name` in an environment as `readEnviron` reads it. */
export function valueIn(env: string | undefined, name: string): string | undefined {
  if (!env) return undefined;
  const key = `${name}=`;
  const at = env.startsWith(key) ? 0 : env.indexOf(`\0${key}`) + 1;
  if (at === 0 && !env.startsWith(key)) return undefined;
  const end = env.indexOf('\0', at + key.length);
  return env.slice(at + key.length, end === -1 ? undefined : end);
}

/** The value of `name` in the environment the process was started with, if readable. */
export function environValue(pid: number, name: string): string | undefined {
  return valueIn(readEnviron(pid), name);
}

/** The pid namespace a process runs in (`pid:[4026531836]`), or undefined. */
export function pidNamespace(pid: number, link: 'pid' | 'pid_for_children' = 'pid'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${link}`);
  } catch {
    return undefined;
  }
}

/** Sends `sig` to exactly this process: nothing when its pid now names another one. */
export function signalExact(p: Pick<ProcEntry, 'pid' | 'start'>, sig: NodeJS.Signals): void {
  const now = readProc(p.pid);
  if (!now || now.start !== p.start) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    // gone meanwhile, or not ours to signal
  }
}
