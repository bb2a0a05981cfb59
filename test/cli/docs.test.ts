/**
 * The docs are tested like code (conventions in docs/README.md):
 * - every fenced block marked `sh runnable` in README.md and docs/ runs in bash, in a
 *   fresh temporary directory with `hub` on PATH, and exits 0; an `output` block right
 *   after it is its expected stdout;
 * - every `hub <command> … --flag` in a shell block exists in `hub <command> --help`;
 * - every relative link resolves: the file exists, and a `#anchor` is a heading of the
 *   target under GitHub's slug rules.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT as repoRoot } from '../support/repo.js';

const HUB = join(repoRoot, 'bin', 'hub.js');
const BLOCK_TIMEOUT_MS = 30_000;

// ---- Markdown: files, fenced blocks, headings, links -------------------------------

interface Fence {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string split into words: ['sh', 'runnable']. */
  info: string[];
  body: string;
  /** Whether only blank lines separate this block from the previous one. */
  followsPrevious: boolean;
}

interface MarkdownFile {
  path: string;
  fences: Fence[];
  /** The text outside fenced blocks, one entry per line (fence lines blanked). */
  prose: string[];
}

function markdownFiles(): string[] {
  const files = [join(repoRoot, 'README.md')];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk(join(repoRoot, 'docs'));
  return files.sort();
}

function parseMarkdown(path: string): MarkdownFile {
  const lines = readFileSync(path, 'utf8').split('\n');
  const fences: Fence[] = [];
  const prose: string[] = [];
  let open: { marker: string; line: number; info: string[]; body: string[]; followsPrevious: boolean } | undefined;
  let sincePrevious: boolean | undefined; // undefined: no block yet; true: only blank lines since
  lines.forEach((text, i) => {
    if (open) {
      prose.push('');
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
      if (close?.[1] && close[1][0] === open.marker[0] && close[1].length >= open.marker.length) {
        fences.push({ file: path, line: open.line, info: open.info, body: open.body.join('\n'), followsPrevious: open.followsPrevious });
        open = undefined;
        sincePrevious = true;
      } else {
        open.body.push(text);
      }
      return;
    }
    const start = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(text);
    if (start?.[1] !== undefined && start[2] !== undefined) {
      prose.push('');
      open = {
        marker: start[1],
        line: i + 1,
        info: start[2].trim().split(/\s+/).filter(Boolean),
        body: [],
        followsPrevious: sincePrevious === true,
      };
      return;
    }
    prose.push(text);
    if (text.trim() !== '') sincePrevious = false;
  });
  assert.equal(open, undefined, `${path}: a fenced block opened on line ${open?.line} is never closed`);
  return { path, fences, prose };
}

/** GitHub's heading ids (github-slugger): lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingIds(file: MarkdownFile): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of file.prose) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading?.[1] === undefined) continue;
    const text = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
      .replace(/<[^>]+>/g, '') // inline HTML
      .replace(/`/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const line of file.prose) for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) if (m[1]) ids.add(m[1]);
  return ids;
}

/** Link targets in the prose (inline links, images, reference definitions), with their lines. */
function links(file: MarkdownFile): { target: string; line: number }[] {
  const found: { target: string; line: number }[] = [];
  file.prose.forEach((text, i) => {
    const line = text.replace(/(`+).*?(?<!`)\1(?!`)/g, ''); // code spans are not links
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) if (m[1]) found.push({ target: m[1], line: i + 1 });
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (definition?.[1]) found.push({ target: definition[1], line: i + 1 });
  });
  return found;
}

// ---- Shell blocks: the `hub` commands and flags they name --------------------------

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'zsh']);

/** The command lines of a block: every line of a shell block, the `$ ` lines of any other. */
function commandLines(fence: Fence): string[] {
  const shell = SHELL_LANGS.has(fence.info[0] ?? '');
  const joined = fence.body.replace(/\\\n/g, ' ').split('\n');
  const lines = shell ? joined : joined.filter((l) => l.startsWith('$ ')).map((l) => l.slice(2));
  return lines.map((l) => l.replace(/(^|\s)#.*$/, '')).filter((l) => l.trim() !== '');
}

interface HubInvocation {
  /** The words after `hub` up to the first non-word: `['token', 'create', 'ci', '--grant', …]`. */
  words: string[];
  where: string;
}

function hubInvocations(fence: Fence): HubInvocation[] {
  const found: HubInvocation[] = [];
  for (const line of commandLines(fence)) {
    for (const m of line.matchAll(/(?:^|[\s;&|(])(?:npx\s+)?hub\s+([^;&|)]*)/g)) {
      const words = (m[1] ?? '').trim().split(/\s+/).filter(Boolean);
      if (words.length > 0) found.push({ words, where: `${relative(repoRoot, fence.file)}:${fence.line}: ${line.trim()}` });
    }
  }
  return found;
}

// ---- `hub … --help`, once per command ----------------------------------------------

interface CommandHelp {
  flags: Set<string>;
  subcommands: Set<string>;
}

const helps = new Map<string, Promise<CommandHelp>>();

function help(command: string[]): Promise<CommandHelp> {
  const key = command.join(' ');
  let cached = helps.get(key);
  if (!cached) {
    cached = promisify(execFile)(process.execPath, [HUB, ...command, '--help']).then(({ stdout }) => {
      const flags = new Set<string>();
      const subcommands = new Set<string>();
      let section = '';
      for (const line of stdout.split('\n')) {
        if (/^\S.*:$/.test(line)) section = line;
        const flag = /^\s+(?:-\w,\s+)?(--[a-z][\w-]*)/.exec(line);
        if (section === 'Options:' && flag?.[1]) flags.add(flag[1]);
        const sub = /^ {2}([a-z][\w-]*)\b/.exec(line);
        if (section === 'Commands:' && sub?.[1] && sub[1] !== 'help') subcommands.add(sub[1]);
      }
      return { flags, subcommands };
    });
    helps.set(key, cached);
  }
  return cached;
}

/** `hub call`'s other `--name value` pairs are the method's params, not options of the CLI. */
const PARAMS_AS_FLAGS = new Set(['call']);

async function checkFlags(invocation: HubInvocation): Promise<void> {
  const command: string[] = [];
  let rest = invocation.words;
  for (;;) {
    const { subcommands } = await help(command);
    const next = rest[0];
    if (subcommands.size === 0 || next === undefined || next.startsWith('-')) break;
    assert.ok(subcommands.has(next), `${invocation.where}\n  hub ${[...command, next].join(' ')}: no such command`);
    command.push(next);
    rest = rest.slice(1);
  }
  if (PARAMS_AS_FLAGS.has(command.join(' '))) return;
  const { flags } = await help(command);
  for (const m of rest.join(' ').matchAll(/(?<![\w-])(--[a-z][\w-]*)/g)) {
    const flag = m[1] as string;
    assert.ok(flags.has(flag), `${invocation.where}\n  ${flag} is not an option of \`hub ${command.join(' ')}\` (see its --help)`);
  }
}

// ---- Running a block ---------------------------------------------------------------

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

interface BlockRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The logs the block wrote (`serve.log`), for the report when it fails. */
  logs: string;
}

/** Runs a block as `bash -euo pipefail` in its own process group, which is killed when bash ends. */
async function runBlock(body: string, scratch: string): Promise<BlockRun> {
  const work = join(scratch, 'work');
  const bin = join(scratch, 'bin');
  mkdirSync(work);
  mkdirSync(bin);
  symlinkSync(HUB, join(bin, 'hub'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [bin, dirname(process.execPath), process.env.PATH].join(':'),
    PORT: String(await freePort()),
    PLEXUS_HUB_DATA: join(work, '.plexus-hub'),
    // The schema cache otherwise lives under the working directory: a fresh one would
    // make every block a cold start.
    PLEXUS_HUB_CACHE: process.env.PLEXUS_HUB_CACHE ?? join(repoRoot, 'node_modules', '.cache', 'plexus-hub'),
  };
  delete env.PLEXUS_HUB_TOKEN;
  delete env.NODE_TEST_CONTEXT; // set by node --test; a child node would report to it
  const child = spawn('bash', ['-euo', 'pipefail', '-c', body], { cwd: work, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killGroup = (): void => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // the group is already empty
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, BLOCK_TIMEOUT_MS);
  // What the block left running (a server it did not stop) would hold the pipes open.
  child.on('exit', killGroup);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on('close', (c, s) => done([c, s])));
  clearTimeout(timer);
  const logs = readdirSync(work)
    .filter((name) => name.endsWith('.log'))
    .map((name) => `--- ${name}\n${readFileSync(join(work, name), 'utf8')}`)
    .join('\n');
  return { code, signal, stdout, stderr, timedOut, logs };
}

/** The expected output as a pattern: a line `…` matches any lines, `…` in a line any text. */
function outputPattern(expected: string): RegExp {
  const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const lines = trimEnds(expected).split('\n');
  const source = lines
    .map((line, i) => {
      const last = i === lines.length - 1;
      if (line.trim() === '…') return last ? '[\\s\\S]*' : '(?:[^\\n]*\\n)*?';
      return line.split('…').map(literal).join('[^\\n]*') + (last ? '' : '\\n');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

function trimEnds(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/^\n+|\n+$/g, '');
}

// ---- The tests ---------------------------------------------------------------------

const files = markdownFiles().map(parseMarkdown);
const fences = files.flatMap((f) => f.fences);
const runnable = fences.filter((f) => f.info.includes('runnable'));
const where = (f: Fence): string => `${relative(repoRoot, f.file)}:${f.line}`;

describe('docs', { concurrency: true }, () => {
  before(() => ensureBuilt());

  it('marks blocks runnable and output only as docs/README.md says', () => {
    assert.ok(runnable.length >= 5, `only ${runnable.length} runnable blocks`);
    for (const fence of runnable)
      assert.equal(fence.info.join(' '), 'sh runnable', `${where(fence)}: a runnable block is \`\`\`sh runnable`);
    fences.forEach((fence, i) => {
      if (fence.info[0] !== 'output') return;
      const previous = fences[i - 1];
      assert.ok(
        fence.followsPrevious && previous?.file === fence.file && previous.info.includes('runnable'),
        `${where(fence)}: an output block must follow a runnable block directly`,
      );
    });
  });

  it('names only hub commands and flags that exist', async () => {
    const invocations = fences.flatMap(hubInvocations);
    assert.ok(invocations.length > 50, `only ${invocations.length} hub commands found`);
    const failures = (await Promise.allSettled(invocations.map(checkFlags))).flatMap((r) =>
      r.status === 'rejected' ? [String(r.reason)] : [],
    );
    assert.deepEqual(failures, []);
  });

  it('links only to files and headings that exist', () => {
    const ids = new Map<string, Set<string>>();
    const idsOf = (path: string): Set<string> => {
      let found = ids.get(path);
      if (!found) {
        found = headingIds(parseMarkdown(path));
        ids.set(path, found);
      }
      return found;
    };
    let checked = 0;
    for (const file of files) {
      for (const { target, line } of links(file)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, mailto:
        const at = `${relative(repoRoot, file.path)}:${line}: ${target}`;
        const [pathPart = '', anchor] = target.split('#', 2);
        const path = pathPart === '' ? file.path : resolve(dirname(file.path), decodeURIComponent(pathPart));
        // Links that leave the repository point at the workspace beside the clone
        // (../shared/plexus-rpc-spec.md), which a checkout of this repository does not have.
        if (relative(repoRoot, path).startsWith('..')) continue;
        checked++;
        assert.ok(existsSync(path), `${at}: no such file`);
        if (anchor !== undefined) {
          assert.ok(path.endsWith('.md'), `${at}: an anchor into a file that is not Markdown`);
          assert.ok(idsOf(path).has(anchor), `${at}: no heading with the id #${anchor} in ${relative(repoRoot, path)}`);
        }
      }
    }
    assert.ok(checked > 30, `only ${checked} relative links checked`);
  });

  describe('runnable blocks', { concurrency: true }, () => {
    const scratch = mkdtempSync(join(tmpdir(), 'plexus-docs-'));
    after(() => rmSync(scratch, { recursive: true, force: true }));

    fences.forEach((fence, i) => {
      if (!fence.info.includes('runnable')) return;
      const next = fences[i + 1];
      const expected = next?.info[0] === 'output' && next.followsPrevious && next.file === fence.file ? next.body : undefined;
      it(where(fence), async () => {
        const run = await runBlock(fence.body, mkdtempSync(join(scratch, 'block-')));
        const report = `${where(fence)}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}\n${run.logs}`;
        assert.ok(!run.timedOut, `timed out after ${BLOCK_TIMEOUT_MS} ms\n${report}`);
        assert.equal(run.code, 0, `exit ${run.code ?? run.signal}\n${report}`);
        if (expected !== undefined) assert.match(trimEnds(run.stdout), outputPattern(expected), report);
      });
    });
  });
});
