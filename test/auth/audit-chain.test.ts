// Issue #21 item 6: the audit log can be neither trimmed nor flooded. Each rule is
// tried as a hostile client (or a hostile editor of the data dir) would.
//
// | rule                                   | where it applies                    | tested over                          |
// |----------------------------------------|-------------------------------------|--------------------------------------|
// | head authenticated (HMAC, audit.key)   | the files: every transport alike    | AuditLog + verify + `hub audit`      |
// | `hub audit verify --expect seq:hash`   | the files                           | `hub audit verify` (CLI)             |
// | rotation by size, chain across files   | the files                           | AuditLog, `hub serve --audit-rotate-bytes` |
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { AuditLog, AuditLogTamperedError, chainHash } from '../../src/auth/audit-log.js';
import { chainFiles } from '../../src/auth/audit-files.js';
import { AUDIT_KEY_FILE, headFileOf, headMac } from '../../src/auth/audit-head.js';
import { verifyAuditLog } from '../../src/auth/audit-verify.js';
import { runHubCli } from '../support/hub-process.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'plexus-audit-'));
const event = (path: string) => ({ event: 'call' as const, principal: 'ci', path, outcome: 'ok' as const, items: 1 });
const recordsOf = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

const hubCli = (args: string[]) => runHubCli(args);

/** A closed log of `n` records in a fresh data dir. */
function writeLog(n: number, options: ConstructorParameters<typeof AuditLog>[1] = {}): { dir: string; file: string } {
  const dir = tmp();
  const file = join(dir, 'audit.jsonl');
  const log = new AuditLog(file, options);
  for (let i = 0; i < n; i++) log.append(event(`echo.m${i}`));
  log.close();
  return { dir, file };
}

/** Cuts the last `k` lines of the log, as an attacker hiding what was done. */
function cutTail(file: string, k: number): void {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  writeFileSync(file, `${lines.slice(0, -k).join('\n')}\n`);
}

describe('a record whose params were not redacted (keys in any order) is still written in canonical form', () => {
  it('unsorted and nested keys verify (an install record: hosts before bins, dirs after hosts)', async () => {
    const dir = tmp();
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file);
    log.append({
      event: 'source.install',
      principal: 'owner',
      path: 'files',
      outcome: 'ok',
      params: { hosts: [], bins: ['ls'], dirs: ['/srv'], nested: { z: 1, a: [{ y: 2, b: 3 }] }, replaced: false },
    });
    log.close();
    const line = readFileSync(file, 'utf8').trim();
    assert.ok(
      line.includes('"params":{"bins":["ls"],"dirs":["/srv"],"hosts":[],"nested":{"a":[{"b":3,"y":2}],"z":1},"replaced":false}'),
      line,
    );
    assert.deepEqual(await verifyAuditLog(file), { ok: true, records: 1, lastHash: JSON.parse(line).hash });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the audit head cannot be forged by whoever can edit the log but not read audit.key', () => {
  it('a cut tail with the head deleted fails verification (a missing head for a non-empty log is a failure)', async () => {
    const { file } = writeLog(5);
    cutTail(file, 2);
    rmSync(headFileOf(file));
    const v = await verifyAuditLog(file);
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /the head file is missing/);
  });

  it('a cut tail with the head rewritten to match (seq and hash recomputed, no key) fails', async () => {
    const { file } = writeLog(5);
    cutTail(file, 2);
    const last = recordsOf(file).at(-1)!;
    // What an attacker writes: the old head format, pointing at the new end.
    writeFileSync(headFileOf(file), `${JSON.stringify({ seq: last.seq, hash: last.hash })}\n`);
    const noMac = await verifyAuditLog(file);
    assert.match(!noMac.ok ? noMac.reason : 'ok', /the head file has no MAC/);
    // With a MAC made under a key of the attacker's own.
    const mac = headMac(Buffer.alloc(32, 7), last.seq, last.hash);
    writeFileSync(headFileOf(file), `${JSON.stringify({ seq: last.seq, hash: last.hash, mac })}\n`);
    const forged = await verifyAuditLog(file);
    assert.match(!forged.ok ? forged.reason : 'ok', /MAC does not match/);
  });

  it('the key is owner-only beside the log, and a key readable by others is refused', async () => {
    const { dir, file } = writeLog(2);
    const keyFile = join(dir, AUDIT_KEY_FILE);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.match(readFileSync(headFileOf(file), 'utf8'), /"mac":"[0-9a-f]{64}"/);
    assert.equal((await verifyAuditLog(file)).ok, true);
    const { chmodSync } = await import('node:fs');
    chmodSync(keyFile, 0o644);
    const v = await verifyAuditLog(file);
    assert.match(!v.ok ? v.reason : 'ok', /readable by others: chmod 600/);
  });

  it('a deleted key fails verification of a non-empty log', async () => {
    const { dir, file } = writeLog(2);
    rmSync(join(dir, AUDIT_KEY_FILE));
    const v = await verifyAuditLog(file);
    assert.match(!v.ok ? v.reason : 'ok', /no audit key .*the head cannot be authenticated/);
  });

  it('the hub does not continue a trimmed log: a new head would hide the cut', () => {
    const cut = writeLog(5);
    cutTail(cut.file, 2);
    assert.throws(
      () => new AuditLog(cut.file),
      (e: Error) => e instanceof AuditLogTamperedError && /ends at seq 3 but its head records seq 5/.test(e.message),
    );
    const headless = writeLog(3);
    rmSync(headFileOf(headless.file));
    assert.throws(() => new AuditLog(headless.file), /has records but no head file/);
    const keyless = writeLog(3);
    rmSync(join(keyless.dir, AUDIT_KEY_FILE));
    assert.throws(() => new AuditLog(keyless.file), /no audit key/);
    // The refusals left no lock behind: once the files are put right, a hub may open it.
    rmSync(join(keyless.dir, 'audit.jsonl'));
    rmSync(headFileOf(keyless.file));
    new AuditLog(keyless.file).close();
  });

  it('records forged onto the end after the hub closed the log (chain recomputed, no key) fail, and the hub does not adopt them', async () => {
    const { file } = writeLog(3);
    const last = recordsOf(file).at(-1)!;
    // An unkeyed chain can be extended by anyone: the head, closed at seq 3, says nothing may follow.
    const body = { event: 'call', outcome: 'ok', path: 'vault.put', principal: 'admin', seq: 4, time: last.time };
    const hash = chainHash(last.hash, canonicalize(body)!);
    writeFileSync(file, `${readFileSync(file, 'utf8')}${JSON.stringify({ ...body, hash, prev: last.hash })}\n`);
    const v = await verifyAuditLog(file);
    assert.match(!v.ok ? v.reason : 'ok', /records after seq 3, where the hub closed the log, were added by someone else/);
    assert.throws(() => new AuditLog(file), /records after seq 3, where the hub closed it, were added by someone else/);
  });

  it('hub audit verify --expect <seq>:<hash> catches a rewrite by whoever holds the key (the hub OS user)', async () => {
    const { dir, file } = writeLog(6);
    const good = await hubCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(good.code, 0, good.stderr);
    const lastHash = /last hash ([0-9a-f]{64})/.exec(good.stdout)![1]!;
    const anchor = `6:${lastHash}`;
    assert.equal((await hubCli(['audit', 'verify', '--data-dir', dir, '--expect', anchor])).code, 0);
    // The hub's own user can read audit.key: cut the tail, sign a matching head. The head then verifies...
    cutTail(file, 2);
    const key = Buffer.from(readFileSync(join(dir, AUDIT_KEY_FILE), 'utf8').trim(), 'hex');
    const last = recordsOf(file).at(-1)!;
    writeFileSync(headFileOf(file), `${JSON.stringify({ seq: last.seq, hash: last.hash, mac: headMac(key, last.seq, last.hash) })}\n`);
    assert.equal(
      (await hubCli(['audit', 'verify', '--data-dir', dir])).code,
      0,
      'the key holder can forge a head: that is the documented limit',
    );
    // ... but not against the anchor kept elsewhere.
    const anchored = await hubCli(['audit', 'verify', '--data-dir', dir, '--expect', anchor]);
    assert.equal(anchored.code, 1);
    assert.match(anchored.stderr, /the log ends at seq 4 but the anchor is seq 6: lines were removed from the end/);
    const wrong = await hubCli(['audit', 'verify', '--data-dir', dir, '--expect', `3:${'0'.repeat(64)}`]);
    assert.match(wrong.stderr, /record 3 does not match the anchor/);
    const bad = await hubCli(['audit', 'verify', '--data-dir', dir, '--expect', 'nonsense']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid anchor "nonsense": expected <seq>:<64 hex digits>/);
  });
});

describe('rotation by size keeps one chain across files', () => {
  it('rotates at the size, numbers files oldest first, continues the chain after a restart, and verify walks them', async () => {
    const dir = tmp();
    const file = join(dir, 'audit.jsonl');
    let log = new AuditLog(file, { rotateBytes: 1500 });
    for (let i = 0; i < 40; i++) {
      log.append(event(`echo.m${i}`));
      if (i % 5 === 4) log.flush(); // one batch per flush: the writer rotates between batches
    }
    log.close();
    log = new AuditLog(file, { rotateBytes: 1500 });
    for (let i = 40; i < 45; i++) log.append(event(`echo.m${i}`));
    log.close();
    const files = [1, 2, 3, 4].map((n) => `${file}.${n}`);
    for (const f of files) assert.ok(existsSync(f), `${f} exists`);
    for (const f of files) assert.ok(statSync(f).size >= 1500 && statSync(f).size < 1500 + 5 * 400, `${f} is about the size`);
    const all = chainFiles(file).flatMap(recordsOf);
    assert.deepEqual(
      all.map((r) => r.seq),
      Array.from({ length: 45 }, (_, i) => i + 1),
    );
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.prev, all[i - 1]!.hash);
    const v = await verifyAuditLog(file);
    assert.deepEqual(v, { ok: true, records: 45, lastHash: all.at(-1)!.hash });
  });

  it('a removed or edited rotated file fails verification, naming the file', async () => {
    const { file } = writeLogRotated();
    const lines = readFileSync(`${file}.2`, 'utf8').split('\n');
    writeFileSync(`${file}.2`, lines.map((l, i) => (i === 1 ? l.replace('echo.', 'ECHO.') : l)).join('\n'));
    const edited = await verifyAuditLog(file);
    assert.deepEqual([edited.ok, !edited.ok && edited.file, !edited.ok && edited.line], [false, `${file}.2`, 2]);
    const cli = await hubCli(['audit', 'verify', '--file', file]);
    assert.equal(cli.code, 1);
    assert.ok(cli.stderr.includes(`${file}.2: line 2: hash does not match`), cli.stderr);
    const second = writeLogRotated();
    rmSync(`${second.file}.1`);
    const removed = await verifyAuditLog(second.file);
    assert.match(!removed.ok ? removed.reason : 'ok', /seq is \d+, expected 1/);
  });
});

function writeLogRotated(): { file: string } {
  const dir = tmp();
  const file = join(dir, 'audit.jsonl');
  const log = new AuditLog(file, { rotateBytes: 1000 });
  for (let i = 0; i < 30; i++) {
    log.append(event(`echo.m${i}`));
    if (i % 4 === 3) log.flush();
  }
  log.close();
  assert.ok(existsSync(`${file}.2`));
  return { file };
}
