/**
 * The package as a user gets it: `npm pack` of this repo, and an offline install of
 * that tarball into a directory (unpacked as npm unpacks it, its declared
 * dependencies linked from this repo's node_modules, our offline cache). Only
 * declared `dependencies` are linked, so a runtime import of a devDependency fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { REPO_ROOT } from './repo.js';

const run = promisify(execFile);
export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
export const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** `npm pack` of this repo (dist/ must be built) into `dest`; the tarball's path. */
export async function packTarball(dest: string): Promise<string> {
  const { stdout } = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: REPO_ROOT });
  return join(dest, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
}

/** Every file `npm pack` takes (package.json's `files`, and package.json), by path, size and mtime. */
function packedSourcesKey(): string {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] };
  const hash = createHash('sha256');
  const visit = (path: string): void => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    else hash.update(`${relative(REPO_ROOT, path)}\0${stat.size}\0${stat.mtimeMs}\n`);
  };
  for (const entry of ['package.json', ...manifest.files]) visit(join(REPO_ROOT, entry));
  return hash.digest('hex').slice(0, 16);
}

const PACKED_CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'plexus-hub-packed');

/**
 * The tarball of `npm pack` of this repo as it is now, packed once and shared: the
 * test files that install the package (run in parallel by `npm test`) would each
 * pack the same bytes, seconds apiece. Kept under a key of every packed file's path,
 * size and mtime, so an edit or a rebuild packs anew; a lock directory makes
 * concurrent files wait for one pack. Callers only read it (npm copies a `file:`
 * dependency; installTarball extracts it).
 */
export async function sharedTarball(): Promise<string> {
  const dir = join(PACKED_CACHE, packedSourcesKey());
  const done = join(dir, 'tarball');
  const lock = `${dir}.lock`;
  mkdirSync(PACKED_CACHE, { recursive: true });
  for (;;) {
    if (existsSync(done)) return readFileSync(done, 'utf8');
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is packing. A lock left by a killed run (older than a pack could take) is taken over.
      const stat = statSync(lock, { throwIfNoEntry: false });
      if (stat && Date.now() - stat.mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      await sleep(100);
    }
  }
  try {
    if (existsSync(done)) return readFileSync(done, 'utf8');
    // Tarballs of older sources are of no more use (none younger than an hour: a run may still read it).
    for (const entry of readdirSync(PACKED_CACHE)) {
      const path = join(PACKED_CACHE, entry);
      if (path !== lock && Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    }
    const staging = mkdtempSync(`${dir}.staging-`);
    const tarball = await packTarball(staging);
    mkdirSync(dir, { recursive: true });
    const final = join(dir, tarball.slice(staging.length + 1));
    renameSync(tarball, final);
    rmSync(staging, { recursive: true, force: true });
    // Written last: its presence means the tarball is complete.
    writeFileSync(done, final);
    return final;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Unpacks the tarball into `<dir>/node_modules/plexus-hub` and links its declared dependencies and bin. */
export function installTarball(dir: string, tarball: string): void {
  const modules = join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', modules]);
  const pkgDir = join(modules, 'plexus-hub');
  renameSync(join(modules, 'package'), pkgDir);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  for (const dep of Object.keys(manifest.dependencies)) {
    const link = join(modules, dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', dep), link, 'dir');
  }
  mkdirSync(join(modules, '.bin'));
  for (const [name, file] of Object.entries(manifest.bin)) {
    chmodSync(join(pkgDir, file), 0o755);
    symlinkSync(join('..', 'plexus-hub', file), join(modules, '.bin', name));
  }
}

/**
 * The environment of a user with an empty HOME (no XDG cache either), whose npm
 * still uses this machine's npm configuration and cache, so installs work offline.
 */
export function freshUserEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    USERPROFILE: home,
    npm_config_userconfig: process.env.npm_config_userconfig ?? join(homedir(), '.npmrc'),
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
    npm_config_update_notifier: 'false',
  };
  // NODE_TEST_CONTEXT would make a `node --test` run inside report to us, not print.
  for (const key of ['XDG_CACHE_HOME', 'PLEXUS_HUB_CACHE', 'PLEXUS_HUB_DATA', 'INIT_CWD', 'npm_config_local_prefix', 'NODE_TEST_CONTEXT'])
    delete env[key];
  return env;
}
