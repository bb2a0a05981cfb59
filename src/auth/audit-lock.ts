/**
 * One writer per audit log: `hub serve` holds `<log>.lock` (the pid, its start time
 * and command line) while it appends, so a second hub on the same data dir refuses to
 * start instead of interleaving a second chain into the file. A lock whose process is
 * gone (or whose pid now belongs to a process started at another time) is stale and
 * taken over.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

interface LockOwner {
  readonly pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), where known. */
  readonly start?: string;
  readonly command?: string;
  readonly since: string;
}

/** A second hub found the log locked by a live process. */
export class AuditLockedError extends Error {}

/** Field 22 of /proc/<pid>/stat: tells a pid's process from a later one that reused the number. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it exists, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = owner.start === undefined ? undefined : startTicks(owner.pid);
  return start === undefined || start === owner.start;
}

function readOwner(lock: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(lock, 'utf8')) as LockOwner;
    return Number.isSafeInteger(o.pid) && o.pid > 0 ? o : undefined;
  } catch {
    return undefined;
  }
}

function describe(owner: LockOwner): string {
  return `pid ${owner.pid}${owner.command ? ` (${owner.command})` : ''}, since ${owner.since}`;
}

/**
 * Takes `<file>.lock` for this process; returns the function that releases it.
 * Throws AuditLockedError naming the holder when a live process has it.
 */
export function lockAuditLog(file: string): () => void {
  const lock = `${file}.lock`;
  const mine: LockOwner = {
    pid: process.pid,
    ...(startTicks(process.pid) !== undefined ? { start: startTicks(process.pid) } : {}),
    // The program and its subcommand only: later arguments may hold a credential (--token).
    command: [process.argv[1]?.replace(/^.*[\\/]/, '') ?? 'node', /^[a-z][a-z-]{0,31}$/.test(process.argv[2] ?? '') ? process.argv[2] : '']
      .filter(Boolean)
      .join(' '),
    since: new Date().toISOString(),
  };
  const text = `${JSON.stringify(mine)}\n`;
  // Written whole to a private name, then linked into place: link fails if the lock
  // exists, and nobody ever sees a half-written lock.
  const tmp = `${lock}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const owner = readOwner(lock);
      if (owner && alive(owner)) {
        throw new AuditLockedError(
          `Audit log ${file} is in use by another hub: ${describe(owner)}. Stop that process, or give this one another --data-dir`,
        );
      }
      // Stale (or unreadable): move it aside under a name of our own, and look at what we
      // moved: if a live hub took the lock meanwhile, put its lock back and refuse.
      const aside = `${lock}.${process.pid}.stale`;
      try {
        renameSync(lock, aside);
      } catch {
        continue; // someone else moved it first
      }
      const moved = readOwner(aside);
      if (moved && alive(moved)) {
        try {
          linkSync(aside, lock);
        } catch {
          /* a third process holds it now */
        }
        rmSync(aside, { force: true });
        throw new AuditLockedError(
          `Audit log ${file} is in use by another hub: ${describe(moved)}. Stop that process, or give this one another --data-dir`,
        );
      }
      rmSync(aside, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    // Only our own lock: never remove one a later hub took after ours was judged stale.
    if (readOwner(lock)?.pid === process.pid) rmSync(lock, { force: true });
  };
}
