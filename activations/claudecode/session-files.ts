import { randomUUID } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, sep } from 'node:path';
import { ClaudeCodeError } from './errors.js';
import type { NodeEvent } from './types.js';

/** `~/.claude/projects`: where the Claude Code CLI keeps its session files. */
export const DEFAULT_SESSIONS_ROOT = join(homedir(), '.claude', 'projects');

const fail = (message: string) => new ClaudeCodeError('session_file', `session file error: ${message}`);

/** One directory name: not empty, ≤255 bytes, no control characters, not `.`/`..`, no separator. */
export function isSafeSegment(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it refuses.
  return s.length > 0 && Buffer.byteLength(s) <= 255 && !/[\x00-\x1f\x7f/\\]/.test(s) && s !== '.' && s !== '..';
}

/**
 * The CLI's session files, `<root>/<project_path>/<session_id>.jsonl`. Both names come
 * off the wire, so each must be a single safe path component, and the project
 * directory, once resolved (symlinks included), must still be inside the root. A
 * session file that is a symbolic link is refused (opened with `O_NOFOLLOW`, so a link
 * swapped in after a check is refused too): it could point anywhere, even when its
 * directory is confined.
 */
export class SessionFiles {
  constructor(readonly root: string = DEFAULT_SESSIONS_ROOT) {}

  projectDir(project: string, create: boolean): string {
    if (!isSafeSegment(project))
      throw fail(`project_path ${JSON.stringify(project)} is not a single directory name; '..', '/' and absolute paths are refused`);
    if (create) mkdirSync(join(this.root, project), { recursive: true });
    if (!existsSync(this.root)) return join(this.root, project);
    const base = realpathSync(this.root);
    const dir = join(base, project);
    if (!existsSync(dir)) return dir;
    const real = realpathSync(dir);
    if (real !== base && !real.startsWith(base + sep))
      throw fail(`project_path ${JSON.stringify(project)} resolves outside the session root`);
    return real;
  }

  sessionFile(project: string, sessionId: string, create = false): string {
    if (!isSafeSegment(sessionId)) throw fail(`session_id ${JSON.stringify(sessionId)} is not a single path component`);
    return join(this.projectDir(project, create), `${sessionId}.jsonl`);
  }

  list(project: string): string[] {
    const dir = this.projectDir(project, false);
    if (!existsSync(dir)) return [];
    // Only regular files: a symlinked `<id>.jsonl` is not a session `get` would read.
    return readdirSync(dir, { withFileTypes: true })
      .filter((f) => f.isFile() && f.name.endsWith('.jsonl'))
      .map((f) => f.name.slice(0, -'.jsonl'.length))
      .sort();
  }

  /** Every JSON line of a session file; lines that are not JSON are skipped, as the reference does. */
  read(project: string, sessionId: string): unknown[] {
    const file = this.sessionFile(project, sessionId);
    const fd = this.#open(file, sessionId, constants.O_RDONLY);
    let content: string;
    try {
      content = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const events: unknown[] = [];
    for (const line of content.split('\n')) {
      if (line.trim() === '') continue;
      try {
        events.push(JSON.parse(line));
      } catch {
        // A torn last line (the CLI still writing) or garbage: not an event.
      }
    }
    return events;
  }

  append(project: string, sessionId: string, events: readonly unknown[]): void {
    const file = this.sessionFile(project, sessionId, true);
    const fd = this.#open(file, sessionId, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT);
    try {
      if (events.length > 0) writeSync(fd, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    } finally {
      closeSync(fd);
    }
  }

  delete(project: string, sessionId: string): void {
    const file = this.sessionFile(project, sessionId);
    // Unlinking a link would not touch its target, but a link is not a session file: same refusal as get.
    closeSync(this.#open(file, sessionId, constants.O_RDONLY));
    unlinkSync(file);
  }

  /** Opens a session file without following a symlink; a link, a directory or a missing file is a clear error. */
  #open(file: string, sessionId: string, flags: number): number {
    let fd: number;
    try {
      fd = openSync(file, flags | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw fail(`Session not found: ${sessionId}`);
      if (code === 'ELOOP' || isSymlink(file)) throw fail(`${sessionId}.jsonl is a symbolic link; session files must be regular files`);
      throw fail(`${sessionId}.jsonl: ${(err as Error).message}`);
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw fail(`${sessionId}.jsonl is not a regular file`);
    }
    return fd;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : Array.isArray(v)
      ? v.map((b) => (isObject(b) && typeof b.text === 'string' ? b.text : JSON.stringify(b))).join('\n')
      : JSON.stringify(v ?? '');

/**
 * A session file's events as turn nodes: a user event → `user_message` (or
 * `user_tool_result`s when it carries tool results, which the reference skipped);
 * an assistant event → `assistant_start`, its blocks, `assistant_complete`.
 */
export function importNodeEvents(events: readonly unknown[]): NodeEvent[] {
  const out: NodeEvent[] = [];
  for (const e of events) {
    if (!isObject(e) || !isObject(e.message)) continue;
    const content = e.message.content;
    if (e.type === 'user') {
      if (typeof content === 'string') out.push({ type: 'user_message', content });
      else if (Array.isArray(content)) {
        const texts = content.filter((b) => isObject(b) && b.type === 'text').map((b) => String((b as Json).text));
        if (texts.length > 0) out.push({ type: 'user_message', content: texts.join('\n') });
        for (const b of content) {
          if (isObject(b) && b.type === 'tool_result')
            out.push({
              type: 'user_tool_result',
              tool_use_id: String(b.tool_use_id ?? ''),
              content: text(b.content),
              is_error: b.is_error === true,
            });
        }
      }
    } else if (e.type === 'assistant' && Array.isArray(content)) {
      out.push({ type: 'assistant_start' });
      for (const b of content) {
        if (!isObject(b)) continue;
        if (b.type === 'text' && typeof b.text === 'string') out.push({ type: 'content_text', text: b.text });
        else if (b.type === 'tool_use')
          out.push({ type: 'content_tool_use', id: String(b.id ?? ''), name: String(b.name ?? ''), input: b.input ?? {} });
        else if (b.type === 'thinking' && typeof b.thinking === 'string') out.push({ type: 'content_thinking', thinking: b.thinking });
        else if (b.type === 'tool_result')
          out.push({
            type: 'user_tool_result',
            tool_use_id: String(b.tool_use_id ?? ''),
            content: text(b.content),
            is_error: b.is_error === true,
          });
      }
      out.push({ type: 'assistant_complete', usage: null });
    }
  }
  return out;
}

/** Turn nodes back into session-file events (the reference's `export_from_arbor`). */
export function exportSessionEvents(nodes: readonly NodeEvent[], sessionId: string, cwd: string): unknown[] {
  const events: unknown[] = [];
  const base = () => ({ uuid: randomUUID(), parentUuid: null, sessionId, timestamp: new Date().toISOString(), cwd });
  let blocks: unknown[] = [];
  let inAssistant = false;
  const flush = () => {
    if (inAssistant && blocks.length > 0) events.push({ type: 'assistant', ...base(), message: { role: 'assistant', content: blocks } });
    blocks = [];
    inAssistant = false;
  };
  for (const n of nodes) {
    switch (n.type) {
      case 'user_message':
        flush();
        events.push({ type: 'user', ...base(), message: { role: 'user', content: n.content } });
        break;
      case 'assistant_start':
        flush();
        inAssistant = true;
        break;
      case 'content_text': {
        if (!inAssistant) break;
        // Streamed deltas are one node each: one text block, as the CLI writes it.
        const last = blocks.at(-1) as { type: string; text: string } | undefined;
        if (last?.type === 'text') last.text += n.text;
        else blocks.push({ type: 'text', text: n.text });
        break;
      }
      case 'content_tool_use':
        if (inAssistant) blocks.push({ type: 'tool_use', id: n.id, name: n.name, input: n.input });
        break;
      case 'content_thinking':
        if (inAssistant) blocks.push({ type: 'thinking', thinking: n.thinking });
        break;
      case 'user_tool_result':
        flush();
        events.push({
          type: 'user',
          ...base(),
          message: {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: n.tool_use_id, content: n.content, is_error: n.is_error }],
          },
        });
        break;
      case 'assistant_complete':
        flush();
        break;
      default:
        break; // launch commands and stderr are bookkeeping
    }
  }
  flush();
  return events;
}
