import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Answers a request when it names one of the files; false lets the next handler try. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface StaticFilesOptions {
  /** URL prefix the files live under (default `/`). */
  readonly prefix?: string;
  /** Served for the prefix itself (default `index.html`). */
  readonly index?: string;
  /**
   * Files whose URL starts with one of these are content-hashed by the bundler and
   * never change under their name: cached for a year. Everything else is revalidated
   * (`no-cache` plus an ETag), so a new build is picked up at once.
   */
  readonly immutable?: readonly string[];
  /** Extra headers per file type (e.g. a Content-Security-Policy for HTML). */
  readonly headers?: (type: string) => Record<string, string>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;

interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly type: string;
  readonly etag: string;
  readonly body: Buffer;
  readonly gzipped?: Buffer;
}

/**
 * Serves the files of one directory, read-only: GET and HEAD, exact content types,
 * `nosniff`, ETag revalidation, gzip for text. A file is read (and compressed) once
 * and kept until its mtime or size changes. Requests that would leave the directory
 * (`..`, encoded separators, NUL, symlinks pointing out) are refused with 400/404
 * and never touch a file outside it.
 */
export function staticFiles(dir: string, options: StaticFilesOptions = {}): HttpHandler {
  const prefix = options.prefix ?? '/';
  const index = options.index ?? 'index.html';
  const immutable = options.immutable ?? [];
  const cache = new Map<string, CachedFile>();
  let root: string | undefined;

  const load = (rel: string): CachedFile | undefined => {
    let real: string;
    try {
      root ??= realpathSync(dir);
      real = realpathSync(join(root, rel));
    } catch {
      return undefined; // no such file (or no directory yet)
    }
    if (!real.startsWith(root + sep)) return undefined; // a symlink out of the directory
    const stat = statSync(real, { throwIfNoEntry: false });
    if (!stat?.isFile()) return undefined;
    const hit = cache.get(real);
    if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit;
    const body = readFileSync(real);
    const type = TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream';
    const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`;
    const gzipped = COMPRESSIBLE.test(type) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
    const entry: CachedFile = { mtimeMs: stat.mtimeMs, size: stat.size, type, etag, body, ...(gzipped ? { gzipped } : {}) };
    cache.set(real, entry);
    return entry;
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0]!;
    if (!pathname.startsWith(prefix)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice(prefix.length));
    } catch {
      return badRequest(res, 'Bad request: malformed percent-encoding in the path\n');
    }
    if (rel === '') rel = index;
    // Segments, not string prefixes: `..` anywhere, backslashes, NUL and absolute paths are refused outright.
    const segments = rel.split('/');
    if (rel.includes('\\') || rel.includes('\0') || segments.some((s) => s === '..' || s === '.') || rel.startsWith('/')) {
      return badRequest(res, 'Bad request: path outside the served directory\n');
    }
    const file = load(rel);
    if (!file) return false;
    const headers: Record<string, string> = {
      'content-type': file.type,
      'x-content-type-options': 'nosniff',
      etag: file.etag,
      'cache-control': immutable.some((p) => rel.startsWith(p)) ? 'public, max-age=31536000, immutable' : 'no-cache',
      vary: 'accept-encoding',
      ...options.headers?.(file.type),
    };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers).end();
      return true;
    }
    const gzip = file.gzipped && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? file.gzipped! : file.body;
    if (gzip) headers['content-encoding'] = 'gzip';
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

function badRequest(res: ServerResponse, message: string): true {
  res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(message);
  return true;
}
