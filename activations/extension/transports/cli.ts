/**
 * The `cli` transport: a capability that runs one allow-listed binary with an argv
 * built from its params, through the same process runner as `bash` (process group,
 * containment, timeout, output cap, minimal environment), never through a shell.
 * Each line the program writes to stdout is an item (`CliLine`). The only reader of
 * a `cli` route. See docs/extensions-transports.md.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { PlexusError } from '../../../src/index.js';
import { baseEnvironment, DEFAULT_MAX_PROCESSES, runProcess, type ContainmentRequest } from '../../process/index.js';
import { ExtensionErrorCode, type ExtensionTransport, type SourceHealth, type TransportOptions } from '../types.js';
import { checkLimit, invalidRoute, isRecord, sourceUnavailable, transportError } from './errors.js';
import { fillTemplate, leadingPlaceholder, placeholdersIn } from './placeholders.js';

/** A `cli` route, as a manifest declares it. */
export interface CliRoute {
  /** A bare binary name, found on PATH (`rg`, `ls`): no path, no shell syntax. */
  bin: string;
  /** The argv template: each element one argument; `{name}` placeholders are filled from the params. */
  args?: string[];
  /** The binaries the owner confirmed (default: `[bin]`); `bin` must be one of them. */
  allowedBins?: string[];
  /** Wall-clock limit of one run (default 60000, at most 600000). */
  timeoutMs?: number;
  /** Bytes of stdout + stderr one run may write (default 1 MiB, at most 64 MiB). */
  maxOutputBytes?: number;
  /**
   * The directory the program runs in, an absolute path (default: the hub's working
   * directory, which depends on who started the hub). Shown in the approval surface.
   */
  cwd?: string;
}

/** One item of a `cli` call: a line the program wrote to stdout, without its line ending. */
export interface CliLine {
  line: string;
  /** Present (true) when the output ended without a final newline. */
  partial?: true;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const MAX_OUTPUT = 64 * 1024 * 1024;
const KILL_GRACE_MS = 2000;
/** How much of stderr a failed run quotes in its error details. */
const STDERR_TAIL_BYTES = 2048;

/** A binary's name: letters, digits and `._+-`, not starting with `.` or `-` (so not `..`, not an option). */
const BARE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;

/**
 * Refused even when allow-listed: shells run their arguments as code, and these
 * wrappers run their arguments as another program, so a placeholder would pick it.
 */
// biome-ignore format: one list, read as a list
const RUNS_ITS_ARGUMENTS = new Set([
  'sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'csh', 'tcsh', 'fish', 'busybox',
  'env', 'sudo', 'doas', 'su', 'runuser', 'xargs', 'nohup', 'nice', 'ionice', 'timeout', 'setsid', 'stdbuf',
  'script', 'chroot', 'unshare', 'nsenter', 'flock', 'watch', 'time', 'taskset', 'strace', 'exec', 'eval', 'command',
]);

function checkBinName(field: string, bin: unknown): string | undefined {
  if (typeof bin !== 'string' || bin === '') return `${field} must be a non-empty string naming a binary`;
  if (bin.includes('/')) return `${field} '${bin}' is a path: name a bare binary found on PATH (e.g. '${bin.split('/').pop()}')`;
  if (!BARE_NAME.test(bin))
    return `${field} '${bin}' is not a bare binary name (letters, digits, '._+-', not starting with '.' or '-'): the cli transport never runs a shell command line`;
  return undefined;
}

/** The route, or the reasons it is not one. */
function parseRoute(route: unknown): { route: CliRoute; reasons: [] } | { route?: undefined; reasons: string[] } {
  if (!isRecord(route)) return { reasons: ['a cli route must be an object { bin, args, allowedBins? }'] };
  const reasons: string[] = [];
  const known = new Set(['bin', 'args', 'allowedBins', 'timeoutMs', 'maxOutputBytes', 'cwd']);
  for (const key of Object.keys(route))
    if (!known.has(key)) reasons.push(`route.${key} is not a cli route field (${[...known].join(', ')})`);
  const binProblem = checkBinName('route.bin', route.bin);
  if (binProblem) reasons.push(binProblem);
  const bin = binProblem ? undefined : (route.bin as string);
  if (bin && RUNS_ITS_ARGUMENTS.has(bin))
    reasons.push(
      `route.bin '${bin}' runs its arguments as ${['env', 'sudo', 'doas', 'xargs', 'nohup', 'nice', 'timeout'].includes(bin) ? 'another program' : 'code'}: the cli transport never runs through a shell or a command wrapper; name the program itself`,
    );
  let allowed: string[] | undefined;
  if (route.allowedBins !== undefined) {
    if (!Array.isArray(route.allowedBins)) reasons.push('route.allowedBins must be an array of binary names');
    else {
      allowed = [];
      for (const [i, b] of route.allowedBins.entries()) {
        const problem = checkBinName(`route.allowedBins[${i}]`, b);
        if (problem) reasons.push(problem);
        else allowed.push(b as string);
      }
    }
  }
  if (bin && allowed && !allowed.includes(bin))
    reasons.push(
      `route.bin '${bin}' is not on the route's allowedBins (${allowed.join(', ') || 'empty'}): the owner confirms every binary a cli route may run`,
    );
  if (route.args !== undefined) {
    if (!Array.isArray(route.args)) reasons.push('route.args must be an array of strings (one per argument)');
    else
      for (const [i, arg] of route.args.entries()) {
        if (typeof arg !== 'string') reasons.push(`route.args[${i}] must be a string`);
        else if (arg.includes('\0')) reasons.push(`route.args[${i}] contains a NUL byte`);
      }
  }
  if (route.cwd !== undefined) {
    if (typeof route.cwd !== 'string' || route.cwd.includes('\0')) reasons.push('route.cwd must be a string: an absolute directory');
    else if (!isAbsolute(route.cwd))
      reasons.push(
        `route.cwd '${route.cwd}' is relative: give an absolute directory (a relative one would depend on where the hub was started)`,
      );
  }
  for (const problem of [
    checkLimit('timeoutMs', route.timeoutMs, MAX_TIMEOUT_MS),
    checkLimit('maxOutputBytes', route.maxOutputBytes, MAX_OUTPUT),
  ])
    if (problem) reasons.push(problem);
  return reasons.length ? { reasons } : { route: route as unknown as CliRoute, reasons: [] };
}

/** Problems with a `cli` route, as a person can act on them; empty when valid. */
export function checkRoute(route: unknown, _manifest: { secrets?: readonly { name: string }[] } = {}): { reasons: string[] } {
  return { reasons: parseRoute(route).reasons };
}

/** The binary this route may spawn and the directory it runs in (for the install's approval surface). */
export function approvalSurface(route: unknown): { bins?: string[]; dirs?: string[] } {
  const bin = isRecord(route) ? route.bin : undefined;
  const cwd = isRecord(route) ? route.cwd : undefined;
  return { ...(typeof bin === 'string' ? { bins: [bin] } : {}), ...(typeof cwd === 'string' ? { dirs: [cwd] } : {}) };
}

/** Why the route's directory cannot be run in, or undefined when it can (or none is named). */
function cwdProblem(cwd: string | undefined): string | undefined {
  if (cwd === undefined) return undefined;
  try {
    return statSync(cwd).isDirectory() ? undefined : `route.cwd '${cwd}' is not a directory`;
  } catch {
    return `route.cwd '${cwd}' does not exist`;
  }
}

/** The placeholder names a route's args use (for the manifest model's check against `io.input`). */
export function routePlaceholders(route: CliRoute): string[] {
  return [...new Set((route.args ?? []).flatMap(placeholdersIn))];
}

/** The first executable regular file named `bin` in the PATH the child gets (never the cwd). */
export function findOnPath(bin: string, path = baseEnvironment('minimal').PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue; // an empty or relative PATH entry would search the cwd
    const file = join(dir, bin);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

const notOnPath = (bin: string) => `binary '${bin}' is not on PATH (${baseEnvironment('minimal').PATH ?? 'PATH is unset'})`;

/** `ok` when the binary is on PATH, else `unavailable` naming it. */
export async function health(route: unknown, _opts?: TransportOptions): Promise<SourceHealth> {
  const parsed = parseRoute(route);
  if (!parsed.route) return { status: 'unavailable', detail: `invalid cli route: ${parsed.reasons.join('; ')}` };
  const { bin, cwd } = parsed.route;
  const file = findOnPath(bin);
  if (!file) return { status: 'unavailable', detail: notOnPath(bin) };
  const dirProblem = cwdProblem(cwd);
  return dirProblem ? { status: 'unavailable', detail: dirProblem } : { status: 'ok', detail: `binary '${bin}' found at ${file}` };
}

/**
 * The argv: each template element is exactly one argument, whatever its value holds
 * (spaces, `;`, quotes, `$(…)`: no shell ever reads it). An element whose
 * placeholders are not all given (absent or null params) is left out, so optional
 * flags (`--limit={limit}`) disappear when the param does.
 *
 * An element that starts with a placeholder, before the template's `--`, is where a
 * caller's value would be read as an option (`-R /`, `--upload-pack=…`): a value
 * starting with `-` is refused there. After a `--` element, or glued behind text
 * (`--x={p}`), it is data.
 */
export function buildArgv(args: readonly string[], params: Record<string, unknown>): string[] {
  const argv: string[] = [];
  let optionsEnded = false;
  for (const template of args) {
    const arg = fillTemplate(template, params, 'a cli argument');
    if (template === '--') optionsEnded = true;
    if (arg === undefined) continue;
    if (arg.includes('\0'))
      throw new PlexusError(
        ExtensionErrorCode.SchemaValidationFailed,
        `a param filling '${template}' contains a NUL byte: an argument cannot hold one`,
      );
    const leading = leadingPlaceholder(template);
    if (!optionsEnded && leading !== undefined && arg.startsWith('-') && arg !== '-') {
      throw new PlexusError(
        ExtensionErrorCode.SchemaValidationFailed,
        `param '${leading}' starts with '-', so the program would read it as an option: pass a value that does not, ` +
          `or (the manifest's author) put a '--' element before '${template}' in route.args`,
        false,
        { param: leading },
      );
    }
    argv.push(arg);
  }
  return argv;
}

const CONTAINMENT: readonly string[] = ['auto', 'namespace', 'sweep', 'group'];

/** The last `max` bytes of the stderr lines, on a line boundary where possible. */
class Tail {
  #lines: string[] = [];
  #bytes = 0;
  constructor(readonly max: number) {}
  push(line: string): void {
    this.#lines.push(line);
    this.#bytes += line.length + 1;
    while (this.#bytes > this.max && this.#lines.length > 1) this.#bytes -= this.#lines.shift()!.length + 1;
  }
  text(): string {
    const all = this.#lines.join('\n');
    return all.length > this.max ? all.slice(-this.max) : all;
  }
}

/**
 * Runs the route's binary with the argv filled from `params` and yields each stdout
 * line as a `CliLine`. Exit 0 ends the call; a non-zero exit, a signal, the timeout,
 * the output cap or the process cap fail it with `transport_error` (exit code and
 * stderr tail in details). A binary missing from PATH is `source_unavailable`.
 */
export async function* dispatch(
  route: unknown,
  params: Record<string, unknown>,
  opts: TransportOptions & { signal: AbortSignal },
): AsyncGenerator<CliLine, void, undefined> {
  const parsed = parseRoute(route);
  if (!parsed.route) throw invalidRoute('cli', parsed.reasons);
  const { bin, args = [], timeoutMs = DEFAULT_TIMEOUT_MS, maxOutputBytes = DEFAULT_MAX_OUTPUT, cwd } = parsed.route;
  const argv = buildArgv(args, params);
  const file = findOnPath(bin);
  if (!file) throw sourceUnavailable(notOnPath(bin), { bin });
  const dirProblem = cwdProblem(cwd);
  if (dirProblem) throw sourceUnavailable(dirProblem, { cwd });
  const containment = opts.processes?.containment;
  const events = runProcess({
    file,
    args: argv,
    cwd: cwd ?? process.cwd(),
    env: baseEnvironment('minimal'),
    timeoutMs,
    graceMs: KILL_GRACE_MS,
    maxOutputBytes,
    maxProcesses: opts.processes?.maxProcesses ?? DEFAULT_MAX_PROCESSES,
    containment: containment && CONTAINMENT.includes(containment) ? (containment as ContainmentRequest) : 'auto',
    signal: opts.signal,
  });
  const stderr = new Tail(STDERR_TAIL_BYTES);
  // The first thing that went wrong; the error is made at the end, with the whole stderr tail.
  let failure: { unavailable?: true; message: string; details: Record<string, unknown>; recoverable?: true } | undefined;
  let truncated = false;
  for await (const event of events) {
    switch (event.kind) {
      case 'line':
        if (event.stream === 'stderr') stderr.push(event.line);
        else yield event.partial ? { line: event.line, partial: true } : { line: event.line };
        break;
      case 'truncated':
        truncated = true;
        failure ??= {
          message: `'${bin}' wrote more than ${event.limitBytes} bytes: the rest was discarded and the run stopped`,
          details: { limitBytes: event.limitBytes },
        };
        break;
      case 'timeout':
        failure ??= {
          message: `'${bin}' did not finish within ${event.timeoutMs} ms: its processes were terminated`,
          details: { timeoutMs: event.timeoutMs },
          recoverable: true,
        };
        break;
      case 'process_limit':
        failure ??= {
          message: `'${bin}' started more than ${event.limit} processes: every process of the call was killed`,
          details: { processLimit: event.limit },
        };
        break;
      case 'spawn_error':
        failure ??= { unavailable: true, message: `'${bin}' could not be started: ${event.message}`, details: {} };
        break;
      case 'exit':
        // After the output cap the program may die of SIGPIPE: that is the cap's doing, already reported.
        if (failure || truncated || (event.code === 0 && !event.signal)) break;
        failure = {
          message: event.signal ? `'${bin}' was killed by ${event.signal}` : `'${bin}' exited with code ${event.code}`,
          details: { exitCode: event.code, signal: event.signal },
        };
        break;
    }
  }
  if (!failure || opts.signal.aborted) return;
  const details = { bin, ...failure.details, stderrTail: stderr.text() };
  throw failure.unavailable ? sourceUnavailable(failure.message, details) : transportError(failure.message, details, failure.recoverable);
}

/** This module keeps the shape every transport module has. */
export const cliTransport = { checkRoute, approvalSurface, health, dispatch } satisfies ExtensionTransport;
