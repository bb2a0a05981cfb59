/** Helpers for tests that run generated Python clients: the interpreter, pyright and mypy. */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './repo.js';

const run = promisify(execFile);
const PYRIGHT = join(REPO_ROOT, 'node_modules', 'pyright', 'index.js');

/**
 * A Python >= 3.11 that can import `websockets`, or why there is none. Debian's
 * `python3-websockets` serves /usr/bin/python3, which is not necessarily the first
 * python3 on PATH (pyenv), so both are tried; PLEXUS_PYTHON overrides.
 */
export const python: { path?: string; skip?: string } = (() => {
  const candidates = [process.env.PLEXUS_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  const reasons: string[] = [];
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['-c', 'import sys, websockets; assert sys.version_info >= (3, 11), sys.version'], { stdio: 'pipe' });
      return { path: candidate };
    } catch (e) {
      const err = e as { code?: string; stderr?: Buffer };
      reasons.push(`${candidate}: ${err.code === 'ENOENT' ? 'not found' : (err.stderr?.toString().trim().split('\n').pop() ?? 'failed')}`);
    }
  }
  const skip = `no python3 >= 3.11 with websockets (${reasons.join('; ')}); apt-get install python3-websockets`;
  console.log(`# skipping Python client runs: ${skip}`);
  return { skip };
})();

/** Runs a Python program; resolves with its output, rejects with stderr in the message. */
export async function runPython(
  file: string,
  args: string[],
  cwd: string,
  timeoutMs = 60_000,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(python.path!, [file, ...args], { cwd, timeout: timeoutMs, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  } catch (e) {
    const err = e as { stdout: string; stderr: string; message: string };
    throw new Error(`python ${file} failed: ${err.message}\nstdout:\n${err.stdout}\nstderr:\n${err.stderr}`);
  }
}

/** `pyright --strict` over a directory (Python 3.11 semantics); fails with its report. */
export async function pyrightStrict(dir: string): Promise<void> {
  writeFileSync(
    join(dir, 'pyrightconfig.json'),
    `${JSON.stringify({ typeCheckingMode: 'strict', pythonVersion: '3.11', reportMissingModuleSource: false })}\n`,
  );
  try {
    await run(process.execPath, [PYRIGHT, '-p', join(dir, 'pyrightconfig.json')], { cwd: dir, timeout: 120_000 });
  } catch (e) {
    const err = e as { stdout: string; stderr: string };
    throw new Error(`pyright --strict failed:\n${err.stdout}${err.stderr}`);
  }
}

/** Debian's (or PATH's) `mypy`, or why there is none; PLEXUS_MYPY overrides. */
export const mypy: { path?: string; skip?: string } = (() => {
  const candidates = [process.env.PLEXUS_MYPY, '/usr/bin/mypy', 'mypy'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'pipe' });
      return { path: candidate };
    } catch {}
  }
  const skip = `no mypy (tried ${candidates.join(', ')}); apt-get install mypy`;
  console.log(`# skipping mypy --strict checks: ${skip}`);
  return { skip };
})();

/** `mypy --strict` over `targets` (relative to `dir`), its cache kept inside `dir`; fails with its report. */
export async function mypyStrict(dir: string, targets: string[]): Promise<void> {
  try {
    await run(mypy.path!, ['--strict', '--python-version', '3.11', '--cache-dir', join(dir, '.mypy_cache'), ...targets], {
      cwd: dir,
      timeout: 120_000,
    });
  } catch (e) {
    const err = e as { stdout: string; stderr: string };
    throw new Error(`mypy --strict failed:\n${err.stdout}${err.stderr}`);
  }
}
