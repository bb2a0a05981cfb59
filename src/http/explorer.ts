import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staticFiles, type HttpHandler } from './static-files.js';

/**
 * The schema explorer's page, as built by `npm run build` (Vite) into
 * `<package>/dist/explorer`. Found from this module's location, which is
 * `src/http/` when run from source and `dist/src/http/` when compiled.
 */
export function explorerDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(dir, 'dist', 'explorer');
}

// The page talks only to its own origin (the hub's WebSocket on the same port).
const CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the explorer at `/` (and its hashed assets under `/assets/`). When the
 * page has not been built, `GET /` says how to build it instead of a bare 404.
 */
export function explorerHandler(dir = explorerDir()): HttpHandler {
  const files = staticFiles(dir, {
    immutable: ['assets/'],
    headers: (type): Record<string, string> =>
      type.startsWith('text/html') ? { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' } : {},
  });
  return (req, res) => {
    if (files(req, res)) return true;
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && path === '/' && !existsSync(join(dir, 'index.html'))) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`The schema explorer is not built (${dir} is missing): run \`npm run build\`.\n`);
      return true;
    }
    return false;
  };
}
