// Issue #22 items 9–11: bounds on what one call of a built-in activation may cost.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub } from '../src/index.js';
import { Bash, type BashEvent } from '../activations/bash.js';
import { baseEnvironment, runProcess } from '../activations/process/index.js';

const dir = mkdtempSync(join(tmpdir(), 'plexus-activation-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bash: empty lines count toward the output pause (issue #22 item 11)', () => {
  it('300,000 empty lines are not read ahead of a consumer that does not read', async () => {
    const marker = join(dir, 'wrote-everything');
    const events = runProcess({
      file: 'bash',
      args: ['-c', `head -c 300000 /dev/zero | tr '\\0' '\\n'; touch '${marker}'`],
      cwd: dir,
      env: baseEnvironment('minimal'),
      timeoutMs: 60_000,
      graceMs: 300,
      maxOutputBytes: 4 * 1024 * 1024,
    });
    let lines = 0;
    const first = await events.next();
    assert.equal(first.done, false);
    // Not reading: the pipes must pause long before the writer is done.
    await wait(1500);
    assert.equal(existsSync(marker), false, 'the whole output was queued while nobody read it');
    for await (const event of events) if (event.kind === 'line') lines++;
    assert.equal(lines + 1, 300_000);
    assert.ok(existsSync(marker));
  });

  it("`yes ''` stops at the byte cap, each empty line counting its newline", async () => {
    const cap = 32 * 1024;
    const hub = new DynamicHub().register(new Bash({ cwd: dir, maxOutputBytes: cap, killGraceMs: 300 }));
    let stdout = 0;
    const rest: BashEvent[] = [];
    for await (const item of hub.call('bash.execute', { command: "yes ''" })) {
      if (item.type !== 'data') continue;
      const event = item.content as BashEvent;
      if (event.type === 'stdout') stdout++;
      else rest.push(event);
    }
    assert.equal(stdout, cap);
    assert.deepEqual(
      rest.map((e) => e.type),
      ['truncated', 'exit'],
    );
    assert.equal((rest[0] as { limit_bytes: number }).limit_bytes, cap);
  });
});
