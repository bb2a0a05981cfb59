/**
 * The package as a user gets it: `npm pack` of this repo, and an offline install of
 * that tarball into a directory (unpacked as npm unpacks it, its declared
 * dependencies linked from this repo's node_modules, our offline cache). Only
 * declared `dependencies` are linked, so a runtime import of a devDependency fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
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
