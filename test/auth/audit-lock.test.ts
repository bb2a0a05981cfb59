// Issue #21 item 6: the audit log can be neither trimmed nor flooded. Each rule is
// tried as a hostile client (or a hostile editor of the data dir) would.
//
// | rule                                   | where it applies                    | tested over                          |
// |----------------------------------------|-------------------------------------|--------------------------------------|
// | one writer per log (lock with pid)     | `hub serve`, `hub mcp`              | two real `hub serve` processes       |
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/auth/audit-log.js';
import { AuditLockedError } from '../../src/auth/audit-lock.js';
import { parseGrant } from '../../src/auth/grants.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { PlexusClient } from '../../src/index.js';
import { HubExitedError, runHubCli, startHub } from '../support/hub-process.js';
import { eventually } from '../support/helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'plexus-audit-'));

const hubCli = (args: string[]) => runHubCli(args);

describe('one writer per audit log', () => {
  it('a second AuditLog on the same file refuses, naming the holder; after close it may open', () => {
    const dir = tmp();
    const file = join(dir, 'audit.jsonl');
    const first = new AuditLog(file);
    assert.throws(
      () => new AuditLog(file),
      (e: Error) => e instanceof AuditLockedError && e.message.includes(`pid ${process.pid}`),
    );
    first.close();
    new AuditLog(file).close();
  });

  it('two hub serve on one data dir: the second refuses to start naming the first; a killed hub leaves a stale lock that is taken over', async () => {
    const dir = tmp();
    // Made before any hub starts: the test is about the lock, not about a hub noticing new tokens.
    const { token } = new TokenStore(dir).create({ name: 'ci', hub: 'plexus', grants: [parseGrant('echo.*:read')] });
    const args = ['--data-dir', dir];
    const first = await startHub({ args });
    let third: Awaited<ReturnType<typeof startHub>> | undefined;
    try {
      const second = await startHub({ args }).then(
        async (h) => (await h.stop(), undefined),
        (e: unknown) => e,
      );
      assert.ok(second instanceof HubExitedError, 'the second hub must not start');
      assert.equal(second.code, 1);
      assert.match(second.output, new RegExp(`audit\\.jsonl is in use by another hub: pid ${first.child.pid} \\(.*serve.*\\), since `));
      // SIGKILL: no exit handler runs, the lock stays with a dead pid.
      await first.stop('SIGKILL');
      assert.ok(existsSync(join(dir, 'audit.jsonl.lock')));
      third = await startHub({ args: [...args, '--audit-rotate-bytes', '1024'] });
      const client = new PlexusClient({ url: third.url, token, connectAttempts: 1 });
      try {
        for (let i = 0; i < 12; i++) for await (const _ of client.call('echo.once', { message: `m${i}` })) void _;
      } finally {
        client.close();
      }
      await third.stop('SIGTERM');
      await eventually(() => !existsSync(join(dir, 'audit.jsonl.lock')), 5000);
      assert.ok(existsSync(join(dir, 'audit.jsonl.1')), '--audit-rotate-bytes rotated the log');
      const verify = await hubCli(['audit', 'verify', '--data-dir', dir]);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, /^ok: 1[2-9] records, chain intact/);
    } finally {
      await first.stop();
      await third?.stop();
    }
  });
});
