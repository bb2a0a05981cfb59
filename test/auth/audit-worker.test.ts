// The audit log's writer thread is a real module (src/auth/audit-worker.ts). It must
// start both from the TypeScript sources (under tsx, in this process) and from the
// compiled dist/ (a plain `node`, as the installed `hub` runs it), and the chain it
// writes must verify either way.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { AuditLog, headFileOf } from '../../src/auth/audit-log.js';
import { verifyAuditLog } from '../../src/auth/audit-verify.js';
import { AUDIT_WORKER_URL } from '../../src/auth/audit-writer.js';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT as repoRoot } from '../support/repo.js';

const run = promisify(execFile);

describe('audit writer thread', () => {
  it('runs from the TypeScript sources under tsx: records are chained, the head file written, the log verifies', async () => {
    assert.ok(AUDIT_WORKER_URL.href.endsWith('/src/auth/audit-worker.ts'), AUDIT_WORKER_URL.href);
    const file = join(mkdtempSync(join(tmpdir(), 'plexus-audit-src-')), 'audit.jsonl');
    const log = new AuditLog(file);
    log.append({ event: 'call', principal: 'ci', outcome: 'ok', path: 'echo.echo', params: { message: 'hi' } });
    // Integer-like keys: the hub sends this body pre-canonicalised (a string), not as an object.
    log.append({ event: 'call', principal: 'ci', outcome: 'error', path: 'echo.echo', params: { 10: 'b', 2: 'a' } });
    log.flush();
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 2, 'flush returns once the records are in the file');
    log.append({ event: 'auth', principal: 'unknown', outcome: 'auth_failed', reason: 'unknown' });
    log.close();
    const verdict = await verifyAuditLog(file);
    assert.deepEqual([verdict.ok, verdict.ok && verdict.records], [true, 3]);
    assert.equal(JSON.parse(readFileSync(headFileOf(file), 'utf8')).seq, 3);
  });

  it('runs from dist/ in a plain node process, and hub audit verify accepts what it wrote', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'plexus-audit-dist-'));
    const dist = (path: string) => JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'src', 'auth', path)).href);
    const script = [
      `const { AuditLog } = await import(${dist('audit-log.js')});`,
      `const { AUDIT_WORKER_URL } = await import(${dist('audit-writer.js')});`,
      `const log = new AuditLog(${JSON.stringify(join(dir, 'audit.jsonl'))});`,
      `for (let i = 0; i < 5; i++) log.append({ event: 'call', principal: 'ci', outcome: 'ok', path: 'echo.m' + i });`,
      'log.close();',
      'console.log(AUDIT_WORKER_URL.href);',
    ].join('\n');
    // No tsx anywhere: not in the arguments, not through NODE_OPTIONS.
    const env = { ...process.env, NODE_OPTIONS: '' };
    const child = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, env });
    assert.ok(child.stdout.trim().endsWith('/dist/src/auth/audit-worker.js'), child.stdout);
    assert.equal(child.stderr, '');
    const verify = await run(process.execPath, [join(repoRoot, 'bin', 'hub.js'), 'audit', 'verify', '--data-dir', dir], { env });
    assert.match(verify.stdout, /^ok: 5 records, chain intact, last hash [0-9a-f]{64}\n$/);
  });
});
