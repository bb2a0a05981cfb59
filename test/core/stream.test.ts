import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Observable } from 'rxjs';
import { DynamicHub, defineActivation, progress, type StreamItem } from '../../src/index.js';
import { Kitchen } from '../fixtures/kitchen.js';
import { collect, contents, errorOf, eventually } from '../support/helpers.js';

const hub = new DynamicHub().register(new Kitchen());

function types(items: readonly StreamItem[]): string[] {
  return items.map((i) => i.type);
}

describe('streams: every return form becomes items ending in done', () => {
  it('a plain value is one data item then done', async () => {
    const items = await collect(hub.call('kitchen.tree', { depth: 1 }));
    assert.deepEqual(types(items), ['data', 'done']);
    assert.deepEqual(contents(items), [{ value: 1, children: [{ value: 0, children: [] }] }]);
  });

  it('void becomes a null item', async () => {
    assert.deepEqual(contents(await collect(hub.call('kitchen.nothing'))), [null]);
  });

  it('a Promise is awaited', async () => {
    assert.deepEqual(contents(await collect(hub.call('kitchen.later', { ms: 5 }))), [5]);
  });

  it('a sync generator streams, with progress items in order', async () => {
    const items = await collect(hub.call('kitchen.counted', { n: 4 }));
    assert.deepEqual(types(items), ['data', 'data', 'progress', 'data', 'data', 'done']);
    const p = items[2] as { message: string; percentage: number };
    assert.equal(p.message, 'halfway');
    assert.equal(p.percentage, 50);
  });

  it('an Observable streams and is unsubscribed when the consumer stops', async () => {
    const got: unknown[] = [];
    for await (const item of hub.call('kitchen.ticks')) {
      if (item.type === 'data') got.push(item.content);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(Kitchen.liveTickers, 0);
    assert.equal(Kitchen.lastTickPath, 'kitchen.ticks');
  });

  it('dynamic activations accept the same return forms', async () => {
    const dyn = new DynamicHub().register(
      defineActivation({
        namespace: 'dyn',
        methods: {
          obs: { streaming: true, handler: () => new Observable((s) => (s.next(1), s.next(progress('p')), s.next(2), s.complete())) },
          gen: {
            streaming: true,
            handler: async function* () {
              yield 'a';
              yield 'b';
            },
          },
        },
      }),
    );
    assert.deepEqual(types(await collect(dyn.call('dyn.obs'))), ['data', 'progress', 'data', 'done']);
    assert.deepEqual(contents(await collect(dyn.call('dyn.gen'))), ['a', 'b']);
  });
});

describe('streams: errors', () => {
  it('an error thrown mid-stream keeps the items before it, then error, then done', async () => {
    const items = await collect(hub.call('kitchen.failing', { before: 3 }));
    assert.deepEqual(types(items), ['data', 'data', 'data', 'error', 'done']);
    assert.deepEqual(contents(items), [0, 1, 2]);
    assert.deepEqual(errorOf(items), { ...errorOf(items), message: 'Execution error: boom', code: '-32000', recoverable: false });
  });

  it('an error thrown before anything is produced is error then done', async () => {
    const items = await collect(hub.call('kitchen.explode'));
    assert.deepEqual(types(items), ['error', 'done']);
    assert.equal(errorOf(items)?.message, 'Execution error: kaboom');
  });

  it('an Observable error becomes an error item', async () => {
    const dyn = new DynamicHub().register(
      defineActivation({
        namespace: 'dyn',
        methods: { bad: { handler: () => new Observable((s) => (s.next(1), s.error(new Error('obs failed')))) } },
      }),
    );
    const items = await collect(dyn.call('dyn.bad'));
    assert.deepEqual(types(items), ['data', 'error', 'done']);
    assert.equal(errorOf(items)?.message, 'Execution error: obs failed');
  });

  it('a rejected Promise becomes an error item', async () => {
    const dyn = new DynamicHub().register(
      defineActivation({ namespace: 'dyn', methods: { bad: { handler: async () => Promise.reject(new Error('nope')) } } }),
    );
    assert.equal(errorOf(await collect(dyn.call('dyn.bad')))?.message, 'Execution error: nope');
  });
});

describe('streams: cancellation', () => {
  beforeEach(() => {
    Kitchen.foreverAborted = false;
    Kitchen.stuckWoke = false;
  });

  it('breaking out of the loop runs the generator finally and aborts its signal', async () => {
    let n = 0;
    for await (const item of hub.call('kitchen.forever')) if (item.type === 'data' && ++n === 5) break;
    await eventually(() => Kitchen.foreverRunning === 0);
    assert.equal(Kitchen.foreverAborted, true);
  });

  it('an AbortSignal cancels the call: the stream ends and the producer stops', async () => {
    const controller = new AbortController();
    const seen: StreamItem[] = [];
    for await (const item of hub.call('kitchen.forever', {}, { signal: controller.signal })) {
      seen.push(item);
      if (seen.length === 3) controller.abort();
    }
    assert.equal(seen.length, 3);
    await eventually(() => Kitchen.foreverRunning === 0);
  });

  it('cancelling a producer parked on an await resolves at once and wakes it through the signal', async () => {
    const stream = hub.call('kitchen.stuck');
    const first = await stream.next();
    assert.equal(first.value?.type, 'data');
    const pending = stream.next(); // will never get an item
    await stream.return();
    assert.deepEqual(await pending, { done: true, value: undefined });
    await eventually(() => Kitchen.stuckWoke);
  });

  it('nothing runs until the stream is iterated', async () => {
    const before = Kitchen.foreverRunning;
    const stream = hub.call('kitchen.forever');
    await new Promise((r) => setTimeout(r, 10)); // time in which nothing may start
    assert.equal(Kitchen.foreverRunning, before);
    await stream.return();
  });
});

describe('schema errors', () => {
  it('a class whose types cannot be read fails its calls with a clear error item, not a crash', async () => {
    const { Broken } = await import('../fixtures/broken.js');
    const h = new DynamicHub().register(new Broken());
    const items = await collect(h.call('broken.run'));
    assert.deepEqual(types(items), ['error', 'done']);
    assert.match(errorOf(items)!.message, /destructuring pattern/);
    await assert.rejects(h.ready(), /destructuring pattern/);
  });
});

describe('streams: signals', () => {
  it('a finished call removes its listener from a long-lived AbortSignal', async () => {
    const controller = new AbortController();
    const { EventEmitter } = await import('node:events');
    for (let i = 0; i < 20; i++) await collect(hub.call('kitchen.tree', { depth: 0 }, { signal: controller.signal }));
    assert.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 0);
  });
});
