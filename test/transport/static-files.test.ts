import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { staticFiles } from '../../src/http/static-files.js';
import { explorerHandler } from '../../src/http/explorer.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request: the path goes on the wire exactly as given (no URL normalisation). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function listen(
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end('fell through');
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port })));
}

describe('static files', () => {
  let dir: string;
  let server: Server;
  let port: number;
  const big = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-static-'));
    const site = join(dir, 'site');
    mkdirSync(join(site, 'assets'), { recursive: true });
    writeFileSync(join(site, 'index.html'), '<!doctype html><p>hi</p>');
    writeFileSync(join(site, 'assets', 'app-1234.js'), big);
    writeFileSync(join(site, 'assets', 'style.css'), 'p{color:red}');
    writeFileSync(join(site, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(site, 'blob.bin'), Buffer.from([0, 1, 2]));
    writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET');
    symlinkSync(join(dir, 'secret.txt'), join(site, 'escape.txt'));
    ({ server, port } = await listen(staticFiles(site, { immutable: ['assets/'] })));
  });

  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the index at / with its content type, nosniff, and revalidation', async () => {
    const r = await get(port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.equal(r.body.toString(), '<!doctype html><p>hi</p>');
    assert.equal((await get(port, '/index.html?v=1')).body.toString(), '<!doctype html><p>hi</p>');
  });

  it('gives each file its type', async () => {
    assert.equal((await get(port, '/assets/style.css')).headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await get(port, '/assets/app-1234.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await get(port, '/icon.svg')).headers['content-type'], 'image/svg+xml');
    assert.equal((await get(port, '/blob.bin')).headers['content-type'], 'application/octet-stream');
  });

  it('caches hashed assets for a year and answers 304 to a matching ETag', async () => {
    const r = await get(port, '/assets/app-1234.js');
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
    const etag = r.headers.etag as string;
    assert.match(etag, /^"[\w-]+"$/);
    const again = await get(port, '/assets/app-1234.js', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal((await get(port, '/assets/app-1234.js', { 'if-none-match': '"other"' })).status, 200);
  });

  it('gzips text when asked, and only then', async () => {
    const zipped = await get(port, '/assets/app-1234.js', { 'accept-encoding': 'gzip, deflate' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < big.length / 10);
    assert.equal(gunzipSync(zipped.body).toString(), big);
    const plain = await get(port, '/assets/app-1234.js');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), big);
  });

  it('answers HEAD without a body, and leaves other methods and unknown files to the next handler', async () => {
    const head = await get(port, '/assets/app-1234.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(big.length));
    assert.equal(head.body.length, 0);
    assert.equal((await get(port, '/', {}, 'POST')).body.toString(), 'fell through');
    assert.equal((await get(port, '/missing.js')).body.toString(), 'fell through');
    assert.equal((await get(port, '/assets')).body.toString(), 'fell through'); // a directory is not a file
  });

  it('picks up a file changed on disk', async () => {
    const file = join(dir, 'site', 'assets', 'style.css');
    writeFileSync(file, 'p{color:blue;margin:0}');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.equal((await get(port, '/assets/style.css')).body.toString(), 'p{color:blue;margin:0}');
  });

  for (const path of [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/%2E%2E/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/assets%2f..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/assets\\..\\..\\secret.txt',
    '/index.html%00.js',
    '/%2fetc/passwd',
    '/./index.html',
  ]) {
    it(`refuses ${path} with 400 and never reads outside`, async () => {
      const r = await get(port, path);
      assert.equal(r.status, 400, `status for ${path}`);
      assert.doesNotMatch(r.body.toString(), /TOP-SECRET/);
    });
  }

  it('answers 400 to malformed percent-encoding', async () => {
    const r = await get(port, '/%E0%A4%A');
    assert.equal(r.status, 400);
    assert.match(r.body.toString(), /malformed/);
  });

  it('does not follow a symlink out of the directory', async () => {
    const r = await get(port, '/escape.txt');
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), 'fell through');
  });
});

describe('explorer handler', () => {
  it('says how to build the page when it is missing, and leaves other paths alone', async () => {
    const { server, port } = await listen(explorerHandler(join(tmpdir(), 'plexus-no-such-explorer')));
    try {
      const r = await get(port, '/');
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /npm run build/);
      assert.equal((await get(port, '/mcp')).body.toString(), 'fell through');
    } finally {
      server.close();
    }
  });

  it('serves the built page with a CSP that keeps it to its own origin', async () => {
    const { server, port } = await listen(explorerHandler());
    try {
      const r = await get(port, '/');
      assert.equal(r.status, 200, 'dist/explorer is built by `npm run build` (prepare)');
      assert.match(r.body.toString(), /<script type="module"[^>]+src="\/assets\/index-[\w-]+\.js"/);
      assert.match(String(r.headers['content-security-policy']), /default-src 'self'.*connect-src 'self'/);
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(r.body.toString())![1]!;
      const js = await get(port, script);
      assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(js.headers['content-security-policy'], undefined);
    } finally {
      server.close();
    }
  });
});
