import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

export const SECRETS_DIR = 'secrets';

/** A secret's name is a file name: no path, no leading dot; env-var style names (`OPENAI_API_KEY`) fit. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Where secrets come from for a consumer that reads them by name (cone's provider keys). */
export interface SecretSource {
  /** The value of secret `name`, or undefined when there is none. */
  get(name: string): string | undefined;
}

export function checkSecretName(name: string): void {
  if (!NAME.test(name)) throw new Error(`Invalid secret name "${name}": letters, digits, _ . - (at most 128, not starting with . or -)`);
}

/**
 * The hub's one secret store: `<data dir>/secrets/<name>`, one file per secret, the
 * directory 0700 and each file 0600, written atomically. It keeps secrets such as
 * LLM API keys out of child processes' environments, `ps` and logs — not away from
 * code running as the hub's own OS user (any `execute` grant), which can read the
 * data dir. A file or directory others may read is refused, as ssh refuses a key.
 */
export class SecretStore implements SecretSource {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, SECRETS_DIR);
  }

  set(name: string, value: string): void {
    checkSecretName(name);
    if (value === '') throw new Error(`secret ${name}: the value is empty`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is masked by the umask and leaves an existing directory alone.
    chmodSync(this.dir, 0o700);
    writeFileAtomic(join(this.dir, name), value);
  }

  get(name: string): string | undefined {
    checkSecretName(name);
    const file = join(this.dir, name);
    let fd: number;
    try {
      // O_NOFOLLOW: a symlink planted in the directory is not followed to another file.
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') throw new Error(`secret ${name}: ${file} is a symlink; refusing to follow it`);
      throw err;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new Error(`secret ${name}: ${file} is not a regular file`);
      this.#ownerOnly(file, st.mode);
      this.#ownerOnly(this.dir, statSync(this.dir).mode);
      // A trailing newline (from `echo key > file`) is not part of the key.
      return readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    } finally {
      closeSync(fd);
    }
  }

  /** The names of the stored secrets (never their values), sorted. */
  list(): string[] {
    try {
      return readdirSync(this.dir)
        .filter((n) => NAME.test(n) && !n.endsWith('.tmp'))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Removes a secret; false when there was none. */
  remove(name: string): boolean {
    checkSecretName(name);
    const file = join(this.dir, name);
    try {
      lstatSync(file);
    } catch {
      return false;
    }
    rmSync(file);
    return true;
  }

  #ownerOnly(path: string, mode: number): void {
    if ((mode & 0o077) !== 0) {
      throw new Error(`secret store: ${path} is accessible by other users (mode ${(mode & 0o777).toString(8)}); chmod go-rwx it`);
    }
  }
}
