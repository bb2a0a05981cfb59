import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub, defineActivation } from '../../src/index.js';
import { Echo, Health } from '../../activations/index.js';
import { Changelog, changedPaths, type HashChange } from '../../activations/changelog/index.js';
import { openDatabase } from '../../activations/storage/index.js';

const dir = mkdtempSync(join(tmpdir(), 'changelog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const greeter = (greeting = 'hi') =>
  defineActivation({
    namespace: 'greeter',
    methods: { greet: { description: `Say ${greeting}`, returns: { type: 'string' }, handler: () => greeting } },
  });

function setup(database: string = ':memory:', clockStart = Date.UTC(2026, 0, 1)) {
  let now = clockStart;
  const logs: string[] = [];
  const changelog = new Changelog({ database, clock: () => now, log: (l) => logs.push(l) });
  const hub = new DynamicHub().register(changelog, new Echo());
  type Outcome = { content?: any; error?: { code?: string; message: string } };
  const call = async (method: string, params: Record<string, unknown> = {}): Promise<Outcome> => {
    const out: Outcome = {};
    for await (const item of hub.call(`changelog.${method}`, params)) {
      if (item.type === 'data') out.content = item.content;
      if (item.type === 'error') out.error = { code: item.code, message: item.message };
    }
    return out;
  };
  const ok = async (method: string, params: Record<string, unknown> = {}) => {
    const r = await call(method, params);
    assert.equal(r.error, undefined, r.error?.message);
    return r.content;
  };
  return { changelog, hub, call, ok, logs, advance: (ms: number) => (now += ms), seconds: () => Math.floor(now / 1000) };
}

describe('changelog: recording root-hash changes', () => {
  it('records the first start, then every register/unregister with the changed paths; watch yields each as it happens', async () => {
    const s = setup();
    try {
      await s.changelog.attach(s.hub);
      assert.deepEqual(s.logs, ['First startup - no previous hash recorded']);
      const [first] = (await s.ok('changes')).changes as HashChange[];
      assert.deepEqual(first, {
        id: 1,
        previous_hash: null,
        hash: s.hub.hash(),
        paths: ['changelog', 'echo', 'plexus.call', 'plexus.hash', 'plexus.hashes'],
        created_at: s.seconds(),
        is_documented: false,
      });

      const watched: HashChange[] = [];
      const watching = (async () => {
        for await (const item of s.hub.call('changelog.watch')) {
          if (item.type === 'data') watched.push(item.content as HashChange);
          if (watched.length === 3) break;
        }
      })();
      await new Promise((r) => setImmediate(r));
      const before = s.hub.hash();
      s.advance(5000);
      s.hub.register(greeter());
      await new Promise((r) => setImmediate(r));
      await s.changelog.settled();
      const added = s.hub.hash();
      assert.notEqual(added, before);
      s.hub.unregister('greeter');
      await new Promise((r) => setImmediate(r));
      await s.changelog.settled();
      s.hub.register(greeter('hello'));
      await new Promise((r) => setImmediate(r));
      await s.changelog.settled();
      await watching;
      assert.deepEqual(watched[0], {
        id: 2,
        previous_hash: before,
        hash: added,
        paths: ['greeter'],
        created_at: s.seconds(),
        is_documented: false,
      });
      assert.deepEqual(watched[1]!.paths, ['greeter']);
      assert.equal(watched[1]!.hash, before, 'unregistering returns to the old hash');
      assert.deepEqual(watched[2]!.paths, ['greeter']);
      const history = (await s.ok('changes', { limit: 2 })).changes as HashChange[];
      assert.deepEqual(
        history.map((c) => c.id),
        [4, 3],
      );
    } finally {
      s.changelog.close();
    }
  });

  it('several registrations in one tick are one change; an unchanged hash records nothing', async () => {
    const s = setup();
    try {
      await s.changelog.attach(s.hub);
      s.hub.register(greeter());
      s.hub.register(new Health());
      await new Promise((r) => setImmediate(r));
      await s.changelog.settled();
      const changes = (await s.ok('changes')).changes as HashChange[];
      assert.equal(changes.length, 2);
      assert.deepEqual(changes[0]!.paths, ['greeter', 'health']);
      s.hub.unregister('health');
      s.hub.register(new Health());
      await new Promise((r) => setImmediate(r));
      await s.changelog.settled();
      assert.equal(((await s.ok('changes')).changes as HashChange[]).length, 2);
    } finally {
      s.changelog.close();
    }
  });

  it('sees changes deep in the tree: a nested hub registering a child', async () => {
    const s = setup();
    const inner = new DynamicHub('inner');
    s.hub.register(inner);
    try {
      await s.changelog.attach(s.hub);
      inner.register(greeter());
      await new Promise((r) => setImmediate(r));
      await s.changelog.settled();
      const [latest] = (await s.ok('changes', { limit: 1 })).changes as HashChange[];
      assert.deepEqual(latest!.paths, ['inner', 'inner.greeter']);
      assert.equal(latest!.hash, s.hub.hash());
    } finally {
      s.changelog.close();
    }
  });

  it('across restarts: the start-up check logs unchanged / documented / undocumented, and the recorded change says which paths changed', async () => {
    const file = join(dir, 'restarts.db');
    const run = async (extra: object[], body?: (s: ReturnType<typeof setup>) => Promise<void>) => {
      const s = setup(file);
      s.hub.register(...extra);
      try {
        await s.changelog.attach(s.hub);
        await body?.(s);
        return { logs: s.logs, hash: s.hub.hash(), changes: (await s.ok('changes')).changes as HashChange[] };
      } finally {
        s.changelog.close();
      }
    };
    const one = await run([]);
    const same = await run([]);
    assert.deepEqual(same.logs, ['Plexus hash unchanged']);
    assert.equal(same.changes.length, 1);
    const two = await run([greeter()]);
    assert.deepEqual(two.logs, [`UNDOCUMENTED PLEXUS CHANGE: ${one.hash} -> ${two.hash}. Add changelog entry for hash '${two.hash}'`]);
    assert.deepEqual(two.changes[0]!.paths, ['greeter']);
    assert.equal(two.changes[0]!.previous_hash, one.hash);
    // Document the next configuration's hash before starting it, as an operator would.
    const probe = new DynamicHub().register(new Changelog({ database: ':memory:' }), new Echo(), greeter('hello'));
    await probe.ready();
    const helloHash = probe.hash();
    const documenting = await run([greeter()], async (s) => {
      await s.ok('add', { hash: helloHash, summary: 'greeter says hello', previous_hash: two.hash });
    });
    assert.deepEqual(documenting.logs, ['Plexus hash unchanged']);
    const documented = await run([greeter('hello')]);
    assert.equal(documented.hash, helloHash);
    assert.deepEqual(documented.logs, [`Plexus changed: ${two.hash} -> ${helloHash} (documented: greeter says hello)`]);
    assert.deepEqual(documented.changes[0]!.paths, ['greeter', 'greeter.greet']);
    assert.equal(documented.changes[0]!.is_documented, true);
  });

  it('changedPaths lists changed activations and methods, and only the root of an added or removed subtree', () => {
    const before = new Map([
      ['a', '1'],
      ['a.m', '1'],
      ['a.b', '1'],
      ['a.b.n', '1'],
      ['gone', '1'],
      ['gone.x', '1'],
    ]);
    const after = new Map([
      ['a', '2'],
      ['a.m', '2'],
      ['a.b', '1'],
      ['a.b.n', '1'],
      ['new', '1'],
      ['new.y', '1'],
      ['new.c', '1'],
      ['new.c.z', '1'],
    ]);
    assert.deepEqual(changedPaths(before, after), ['a', 'a.m', 'gone', 'new']);
  });

  it('watch replays recorded changes after `since`, then stops when the caller stops', async () => {
    const s = setup();
    try {
      await s.changelog.attach(s.hub);
      s.hub.register(greeter());
      await new Promise((r) => setImmediate(r));
      await s.changelog.settled();
      const ids: number[] = [];
      for await (const item of s.hub.call('changelog.watch', { since: 0 })) {
        if (item.type === 'data') ids.push((item.content as HashChange).id);
        if (ids.length === 2) break;
      }
      assert.deepEqual(ids, [1, 2]);
      const controller = new AbortController();
      const items: string[] = [];
      const done = (async () => {
        for await (const item of s.hub.call('changelog.watch', {}, { signal: controller.signal })) items.push(item.type);
      })();
      await new Promise((r) => setTimeout(r, 20)); // a while in which no change means no item
      controller.abort();
      await done;
      assert.ok(!items.includes('data'));
    } finally {
      s.changelog.close();
    }
  });
});

describe('changelog: the reference methods', () => {
  it('add documents a hash (INSERT OR REPLACE), list is newest first, empty details are omitted', async () => {
    const s = setup();
    try {
      const { entry } = await s.ok('add', { hash: 'aaaa', summary: 'first', details: [], author: 'ada' });
      assert.deepEqual(entry, { hash: 'aaaa', created_at: s.seconds(), summary: 'first', author: 'ada' });
      s.advance(2000);
      const second = await s.ok('add', { hash: 'bbbb', summary: 'second', previous_hash: 'aaaa', details: ['one', 'two'] });
      assert.deepEqual(second, {
        type: 'entry_added',
        entry: { hash: 'bbbb', previous_hash: 'aaaa', created_at: s.seconds(), summary: 'second', details: ['one', 'two'] },
      });
      s.advance(2000);
      await s.ok('add', { hash: 'aaaa', summary: 'first, rewritten' });
      const { entries } = await s.ok('list');
      assert.deepEqual(
        entries.map((e: { summary: string }) => e.summary),
        ['first, rewritten', 'second'],
      );
    } finally {
      s.changelog.close();
    }
  });

  it('add errors: a missing summary, and a storage failure as changelog.storage_error', async () => {
    const file = join(dir, 'broken.db');
    const s = setup(file);
    try {
      assert.equal((await s.call('add', { hash: 'h' })).error?.code, '-32602');
      const db = openDatabase(file);
      db.exec('DROP TABLE changelog_entries');
      db.close();
      const r = await s.call('add', { hash: 'h', summary: 's' });
      assert.equal(r.error?.code, 'changelog.storage_error');
      assert.match(r.error!.message, /^Storage error: .*changelog_entries/);
    } finally {
      s.changelog.close();
    }
  });

  it('add with queue_id completes that queued change', async () => {
    const s = setup();
    try {
      const { entry: queued } = await s.ok('queue_add', { description: 'rename foo', tags: ['api'] });
      s.advance(1000);
      await s.ok('add', { hash: 'cccc', summary: 'renamed foo', queue_id: queued.id });
      const { entry } = await s.ok('queue_get', { id: queued.id });
      assert.deepEqual(entry, { ...queued, status: 'completed', completed_hash: 'cccc', completed_at: s.seconds() });
      assert.equal((await s.ok('add', { hash: 'dddd', summary: 'unknown queue id is ignored', queue_id: 'nope' })).entry.queue_id, 'nope');
    } finally {
      s.changelog.close();
    }
  });

  it('get reports the stored last hash and whether the asked hash is documented', async () => {
    const s = setup();
    try {
      await s.changelog.attach(s.hub);
      const current = s.hub.hash();
      assert.deepEqual(await s.ok('get', { hash: current }), {
        type: 'status',
        current_hash: current,
        previous_hash: current,
        is_documented: false,
        entry: null,
      });
      await s.ok('add', { hash: current, summary: 'now documented' });
      const status = await s.ok('get', { hash: current });
      assert.equal(status.is_documented, true);
      assert.equal(status.entry.summary, 'now documented');
      assert.equal((await s.call('get', {})).error?.code, '-32602');
    } finally {
      s.changelog.close();
    }
  });

  it('check: unchanged, documented change, undocumented change; it does not write', async () => {
    const s = setup();
    try {
      await s.changelog.attach(s.hub);
      const current = s.hub.hash();
      assert.deepEqual(await s.ok('check', { current_hash: current }), {
        type: 'startup_check',
        current_hash: current,
        previous_hash: current,
        hash_changed: false,
        is_documented: false,
        message: 'Plexus hash unchanged',
      });
      const undocumented = await s.ok('check', { current_hash: 'ffff' });
      assert.equal(undocumented.message, "UNDOCUMENTED: Add changelog entry for hash 'ffff'");
      assert.equal(undocumented.hash_changed, true);
      await s.ok('add', { hash: 'ffff', summary: 'planned' });
      assert.equal((await s.ok('check', { current_hash: 'ffff' })).message, 'Plexus change is documented');
      assert.equal((await s.ok('get', { hash: 'x' })).previous_hash, current, 'check did not store ffff');
      assert.equal((await s.call('check', {})).error?.code, '-32602');
    } finally {
      s.changelog.close();
    }
  });

  it('queue_add, queue_list (by tag), queue_pending, queue_get, queue_complete', async () => {
    const s = setup();
    try {
      const a = (await s.ok('queue_add', { description: 'drop v1 api', tags: ['api', 'breaking'] })).entry;
      assert.match(a.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(a, { id: a.id, description: 'drop v1 api', tags: ['api', 'breaking'], created_at: s.seconds(), status: 'pending' });
      s.advance(1000);
      const b = (await s.ok('queue_add', { description: 'new colours' })).entry;
      assert.equal(b.tags, undefined, 'empty tags are omitted');
      assert.deepEqual(
        (await s.ok('queue_list')).entries.map((e: { id: string }) => e.id),
        [b.id, a.id],
      );
      assert.deepEqual(
        (await s.ok('queue_list', { tag: 'breaking' })).entries.map((e: { id: string }) => e.id),
        [a.id],
      );
      assert.deepEqual((await s.ok('queue_list', { tag: 'frontend' })).entries, []);
      const done = await s.ok('queue_complete', { id: a.id, hash: 'abcd' });
      assert.deepEqual(done, {
        type: 'queue_updated',
        entry: { ...a, status: 'completed', completed_hash: 'abcd', completed_at: s.seconds() },
      });
      assert.deepEqual(
        (await s.ok('queue_pending')).entries.map((e: { id: string }) => e.id),
        [b.id],
      );
      assert.deepEqual((await s.ok('queue_pending', { tag: 'api' })).entries, []);
      assert.deepEqual(await s.ok('queue_get', { id: 'missing' }), { type: 'queue_item', entry: null });
      assert.equal((await s.call('queue_add', {})).error?.code, '-32602');
      assert.equal((await s.call('queue_get', {})).error?.code, '-32602');
      assert.equal((await s.call('queue_list', { tag: 3 })).error?.code, '-32602');
      assert.equal((await s.call('queue_pending', { tag: 3 })).error?.code, '-32602');
    } finally {
      s.changelog.close();
    }
  });

  it('queue_complete errors: unknown id, missing hash', async () => {
    const s = setup();
    try {
      const r = await s.call('queue_complete', { id: 'nope', hash: 'abcd' });
      assert.deepEqual(r.error, { code: 'changelog.queue_entry_not_found', message: 'Queue entry not found: nope' });
      assert.equal((await s.call('queue_complete', { id: 'nope' })).error?.code, '-32602');
    } finally {
      s.changelog.close();
    }
  });

  it('changes and list error on bad params', async () => {
    const s = setup();
    try {
      assert.equal((await s.call('changes', { limit: 'ten' })).error?.code, '-32602');
      assert.equal((await s.call('list', { extra: 1 })).error?.code, '-32602');
      assert.equal((await s.call('watch', { since: 'x' })).error?.code, '-32602');
    } finally {
      s.changelog.close();
    }
  });
});
