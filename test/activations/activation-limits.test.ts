// Issue #22 items 9–11: bounds on what one call of a built-in activation may cost.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub, type StreamItem } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { Mustache, type RenderLimits } from '../../activations/mustache/index.js';
import { Bash, type BashEvent } from '../../activations/bash.js';
import { baseEnvironment, runProcess } from '../../activations/process/index.js';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT as repoRoot } from '../support/repo.js';

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

/** One arbor over `database`, behind its own hub, with calls that throw a failure's code and message. */
function arborHub(database: string, maxRenderBytes?: number) {
  const arbor = new Arbor({ database, sweepIntervalMs: 0, ...(maxRenderBytes ? { maxRenderBytes } : {}) });
  const hub = new DynamicHub().register(arbor);
  const call = async <T>(method: string, params: Record<string, unknown>): Promise<T> => {
    const items: StreamItem[] = [];
    for await (const item of hub.call(`arbor.${method}`, params)) items.push(item);
    const error = items.find((i) => i.type === 'error') as { code?: string; message: string } | undefined;
    if (error) throw Object.assign(new Error(error.message), { code: error.code });
    return (items.find((i) => i.type === 'data') as { content: T }).content;
  };
  return { arbor, call };
}

describe('arbor: tree_render refuses past its byte cap (issue #22 item 9)', () => {
  const db = join(dir, 'arbor.db');
  const big = arborHub(db);
  let treeId = '';
  let size = 0;
  after(() => big.arbor.close());

  it('a deep tree: the size is counted before building, and the error names it and the cap', async () => {
    ({ tree_id: treeId } = await big.call<{ tree_id: string }>('tree_create', { owner_id: 't' }));
    let parent = (await big.call<{ tree: { root: string } }>('tree_get', { tree_id: treeId })).tree.root;
    // 300 levels: the indentation makes the render ~180 KB from ~3 KB of text.
    for (let i = 0; i < 300; i++)
      ({ node_id: parent } = await big.call<{ node_id: string }>('node_create_text', { tree_id: treeId, parent, content: `n${i}` }));
    const { render } = await big.call<{ render: string }>('tree_render', { tree_id: treeId });
    size = Buffer.byteLength(render);
    assert.ok(size > 180_000, `${size}`);

    const small = arborHub(db, 64 * 1024);
    await assert.rejects(small.call('tree_render', { tree_id: treeId }), {
      code: 'arbor.render_too_large',
      message: `tree_render: the render would be ${size} bytes (${(size / 1048576).toFixed(1)} MiB), over the 65536-byte cap (0.1 MiB)`,
    });
    small.arbor.close();
    // Exactly at the cap it renders, the same text.
    const exact = arborHub(db, size);
    assert.equal((await exact.call<{ render: string }>('tree_render', { tree_id: treeId })).render, render);
    exact.arbor.close();
  });

  it('concurrent renders share one budget, and it is given back when they end', async () => {
    const shared = arborHub(db, size + 1000);
    // A slow handle resolver keeps renders in progress together, as cone's does over a busy database.
    const PLUGIN = '11111111-1111-4111-8111-111111111111';
    shared.arbor.registerHandleResolver(PLUGIN, async () => {
      await wait(30);
      return { role: 'user', content: 'resolved' };
    });
    const { tree: t } = await shared.call<{ tree: { root: string; nodes: Record<string, unknown> } }>('tree_get', { tree_id: treeId });
    await shared.call('node_create_external', {
      tree_id: treeId,
      parent: t.root,
      handle: { plugin_id: PLUGIN, version: '1', method: 'm' },
    });
    const results = await Promise.allSettled([0, 1, 2].map(() => shared.call<{ render: string }>('tree_render', { tree_id: treeId })));
    const refused = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason as Error & { code: string });
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal(refused.length, 2);
    for (const err of refused) {
      assert.equal(err.code, 'arbor.render_too_large');
      assert.match(
        err.message,
        /^tree_render: the render is \d+ bytes \(0\.2 MiB\), but concurrent renders hold \d+ bytes of the \d+-byte cap \(0\.2 MiB\); try again later$/,
      );
    }
    // All ended: the whole budget is free again.
    assert.ok((await shared.call<{ render: string }>('tree_render', { tree_id: treeId })).render.includes('[user] resolved'));
    shared.arbor.close();
  });
});

describe('mustache: templates and renders are bounded (issue #22 item 10)', () => {
  const PLUGIN = '22222222-2222-4222-8222-222222222222';
  const NESTED = '{{#a}}{{#a}}{{#a}}x{{/a}}{{/a}}{{/a}}';
  const list = { a: Array.from({ length: 300 }, (_, i) => i) };

  function mustacheHub(limits: Partial<RenderLimits>) {
    const mustache = new Mustache({ database: ':memory:', limits });
    const hub = new DynamicHub().register(mustache);
    const call = async <T>(method: string, params: Record<string, unknown>): Promise<T> => {
      const items: StreamItem[] = [];
      for await (const item of hub.call(`mustache.${method}`, params)) items.push(item);
      const error = items.find((i) => i.type === 'error') as { code?: string; message: string } | undefined;
      if (error) throw Object.assign(new Error(error.message), { code: error.code });
      return (items.find((i) => i.type === 'data') as { content: T }).content;
    };
    const register = (name: string, template: string) => call('register_template', { plugin_id: PLUGIN, method: 'm', name, template });
    const render = (name: string, value: unknown) => call<string>('render', { plugin_id: PLUGIN, method: 'm', template_name: name, value });
    return { mustache, register, render };
  }

  it('a render past its deadline is stopped with a clear error, and the event loop keeps running meanwhile', async () => {
    const m = mustacheHub({ timeoutMs: 500 });
    await m.register('nested', NESTED);
    // Warm the worker, so the deadline measures the template alone.
    await m.register('hello', 'Hi {{name}} <&>');
    assert.equal(await m.render('hello', { name: '"O\'Neil"' }), 'Hi &quot;O&#39;Neil&quot; <&>');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const started = performance.now();
    try {
      await assert.rejects(m.render('nested', list), {
        code: 'mustache.limit_exceeded',
        message: 'Limit exceeded: the render took longer than 500 ms; it was stopped',
      });
    } finally {
      clearInterval(ticker);
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 3000, `refused after ${elapsed} ms`);
    assert.ok(ticks >= 10, `only ${ticks} timer ticks in ${elapsed} ms: the event loop was blocked`);
    // A new worker takes the next render.
    assert.equal(await m.render('hello', { name: 'again' }), 'Hi again <&>');
    m.mustache.close();
  });

  it('template size, section nesting and output size are capped', async () => {
    const m = mustacheHub({ maxTemplateBytes: 100, maxDepth: 3, maxOutputBytes: 1000 });
    await assert.rejects(m.register('big', 'x'.repeat(101)), {
      code: 'mustache.limit_exceeded',
      message: 'Limit exceeded: the template is 101 bytes, over the limit of 100',
    });
    await assert.rejects(m.register('deep', '{{#a}}{{#b}}{{^c}}{{#d}}x{{/d}}{{/c}}{{/b}}{{/a}}'), {
      code: 'mustache.limit_exceeded',
      message: 'Limit exceeded: the template nests sections 4 deep, over the limit of 3',
    });
    await m.register('three', NESTED);
    await m.register('wide', '{{#a}}0123456789{{/a}}');
    await assert.rejects(m.render('wide', list), {
      code: 'mustache.limit_exceeded',
      message: 'Limit exceeded: the output is 3000 bytes, over the limit of 1000',
    });
    assert.equal(await m.render('three', { a: [1, 2] }), 'xxxxxxxx');
    m.mustache.close();
  });

  it('renders the same from dist/ (no tsx), the deadline included', () => {
    ensureBuilt();
    const script = `
      import { DynamicHub } from './dist/src/index.js';
      import { Mustache } from './dist/activations/mustache/index.js';
      const m = new Mustache({ database: ':memory:', limits: { timeoutMs: 500 } });
      const hub = new DynamicHub().register(m);
      const out = [];
      for (const [name, template, value] of [['hello', 'Hi {{name}}', { name: '<b>' }], ['nested', ${JSON.stringify(NESTED)}, ${JSON.stringify(list)}]]) {
        for await (const i of hub.call('mustache.register_template', { plugin_id: '${PLUGIN}', method: 'm', name, template })) {}
        for await (const i of hub.call('mustache.render', { plugin_id: '${PLUGIN}', method: 'm', template_name: name, value }))
          if (i.type !== 'done') out.push(i.type === 'data' ? i.content : i.code);
      }
      m.close();
      console.log(JSON.stringify(out));
    `;
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.deepEqual(JSON.parse(printed), ['Hi &lt;b&gt;', 'mustache.limit_exceeded']);
  });
});
