import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import {
  DynamicHub,
  RpcSession,
  defineActivation,
  serveMcpStdio,
  serveStdio,
  type CallContext,
  type MessageSink,
} from '../../src/index.js';
import { eventually, tick } from '../support/helpers.js';

/** A stream the test releases by hand: `release()` lets one more item out, `end()` finishes it. */
function gate() {
  let permits = 0;
  let finished = false;
  let finalized = false;
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  return {
    get finalized() {
      return finalized;
    },
    release: () => {
      permits++;
      signal();
    },
    end: () => {
      finished = true;
      signal();
    },
    // A cancelled call aborts its signal: the generator wakes and its `finally` runs.
    handler: async function* (_params: unknown, ctx: CallContext) {
      ctx.signal.addEventListener('abort', signal);
      try {
        let n = 0;
        for (;;) {
          while (permits === 0 && !finished && !ctx.signal.aborted) await new Promise<void>((r) => (wake = r));
          if (permits > 0) {
            permits--;
            yield ++n;
          } else return;
        }
      } finally {
        finalized = true;
      }
    },
  };
}

function hubWith(methods: Parameters<typeof defineActivation>[0]['methods']): DynamicHub {
  return new DynamicHub().register(defineActivation({ namespace: 't', methods }));
}

/** A sink that records every message, optionally congested until `relieve()`. */
class RecordingSink implements MessageSink {
  readonly sent: Record<string, any>[] = [];
  #congested = false;
  #waiters: (() => void)[] = [];
  send(message: string): void {
    this.sent.push(JSON.parse(message));
  }
  congested(): boolean {
    return this.#congested;
  }
  drained(): Promise<void> {
    return this.#congested ? new Promise((r) => this.#waiters.push(r)) : Promise.resolve();
  }
  congest(): void {
    this.#congested = true;
  }
  relieve(): void {
    this.#congested = false;
    for (const w of this.#waiters.splice(0)) w();
  }
  items(sub: number): Record<string, any>[] {
    return this.sent.filter((m) => m.method === 'result' && m.params.subscription === sub).map((m) => m.params.result);
  }
  answer(id: number): Record<string, any> | undefined {
    return this.sent.find((m) => m.id === id);
  }
}

const call = (id: number, method: string, params: object = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'plexus.call', params: { method, params } });

describe('RpcSession in process', () => {
  it('answers a call: subscription id, then data and done', async () => {
    const sink = new RecordingSink();
    const session = new RpcSession(hubWith({ one: { handler: () => 1 } }), sink);
    session.receive(call(1, 't.one'));
    await eventually(() => sink.items(1).some((i) => i.type === 'done'));
    assert.deepEqual(sink.answer(1), { jsonrpc: '2.0', id: 1, result: 1 });
    assert.deepEqual(
      sink.items(1).map((i) => i.type),
      ['data', 'done'],
    );
    assert.equal(sink.items(1)[0]!.content, 1);
    assert.equal(session.activeStreams, 0);
  });

  it('idle() is a promise that resolves when the last stream ends, not before', async () => {
    const g = gate();
    const sink = new RecordingSink();
    const session = new RpcSession(hubWith({ slow: { streaming: true, handler: g.handler } }), sink);
    await session.idle(); // nothing running: resolves at once
    session.receive(call(1, 't.slow'));
    await eventually(() => session.activeStreams === 1 && sink.answer(1) !== undefined);
    let idle = false;
    void session.idle().then(() => (idle = true));
    g.release();
    await eventually(() => sink.items(1).length === 1);
    await tick(20); // a while in which idle() must not resolve
    assert.equal(idle, false, 'a running stream keeps the session busy');
    g.end();
    await eventually(() => idle);
    assert.equal(sink.items(1).at(-1)!.type, 'done');
  });

  it('shutdown() refuses new streams, lets running ones finish, and close() cancels what is left', async () => {
    const g = gate();
    const sink = new RecordingSink();
    const session = new RpcSession(hubWith({ slow: { streaming: true, handler: g.handler }, one: { handler: () => 1 } }), sink);
    session.receive(call(1, 't.slow'));
    await eventually(() => session.activeStreams === 1);
    const started = Date.now();
    const shutdown = session.shutdown(50);
    session.receive(call(2, 't.one'));
    assert.deepEqual(sink.answer(2)?.error, { code: -32000, message: 'Server is shutting down: no new streams' });
    g.release();
    await eventually(() => sink.items(1).length === 1, 1000);
    await shutdown; // the grace period ran out with the stream still open
    assert.ok(Date.now() - started >= 40);
    assert.equal(session.activeStreams, 1);
    session.close();
    assert.equal(session.activeStreams, 0);
    await eventually(() => g.finalized);
    session.receive(call(3, 't.one'));
    assert.equal(sink.answer(3), undefined, 'a closed session ignores frames');
  });

  it('shutdown() without a limit waits for the running stream to end', async () => {
    const g = gate();
    const sink = new RecordingSink();
    const session = new RpcSession(hubWith({ slow: { streaming: true, handler: g.handler } }), sink);
    session.receive(call(1, 't.slow'));
    await eventually(() => session.activeStreams === 1);
    let done = false;
    void session.shutdown().then(() => (done = true));
    await tick(20); // a while in which shutdown() must not resolve
    assert.equal(done, false);
    g.end();
    await eventually(() => done);
    assert.equal(sink.items(1).at(-1)!.type, 'done');
  });

  it('enforces maxStreams and unsubscribes', async () => {
    const g = gate();
    const sink = new RecordingSink();
    const session = new RpcSession(hubWith({ slow: { streaming: true, handler: g.handler } }), sink, { maxStreams: 1 });
    session.receive(call(1, 't.slow'));
    session.receive(call(2, 't.slow'));
    await eventually(() => sink.answer(2) !== undefined);
    assert.equal(sink.answer(2)!.error.code, -32005);
    const sub = sink.answer(1)!.result as number;
    g.release();
    await eventually(() => sink.items(sub).length === 1);
    session.receive(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'plexus.call_unsub', params: [sub] }));
    session.receive(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'plexus.call_unsub', params: [sub] }));
    assert.equal(sink.answer(3)!.result, true);
    assert.equal(sink.answer(4)!.result, false);
    assert.equal(session.activeStreams, 0);
    await eventually(() => g.finalized);
  });

  it('holds items while the sink is congested and sends them when it drains', async () => {
    const sink = new RecordingSink();
    const session = new RpcSession(
      hubWith({
        three: {
          streaming: true,
          handler: function* () {
            yield 1;
            yield 2;
            yield 3;
          },
        },
      }),
      sink,
    );
    sink.congest();
    session.receive(call(1, 't.three'));
    await tick(20); // a while in which nothing may be sent
    assert.deepEqual(sink.items(1), [], 'nothing is sent into a congested sink');
    sink.relieve();
    await eventually(() => sink.items(1).length === 4);
    assert.deepEqual(
      sink.items(1).map((i) => i.content ?? i.type),
      [1, 2, 3, 'done'],
    );
  });

  it('answers protocol errors without throwing', () => {
    const sink = new RecordingSink();
    const session = new RpcSession(new DynamicHub(), sink);
    session.receive('{not json');
    session.receive(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'nope' }));
    session.receive(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'plexus.call', params: [5] }));
    assert.equal(sink.sent[0]!.error.code, -32700);
    assert.deepEqual(sink.answer(7)!.error, { code: -32601, message: 'Method not found: nope' });
    assert.equal(sink.answer(8)!.error.code, -32602);
  });
});

describe('serveStdio in process', () => {
  it('serves line-delimited JSON-RPC and resolves once the input ended and streams finished', async () => {
    const g = gate();
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk) => (text += chunk));
    const lines = () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>);
    const served = serveStdio(hubWith({ slow: { streaming: true, handler: g.handler }, one: { handler: () => 'hi' } }), {
      input,
      output,
      maxFrameBytes: 200,
    });
    let ended = false;
    void served.then(() => (ended = true));
    input.write(`${call(1, 't.one')}\n\n${call(2, 't.slow')}\n`);
    input.write(`${JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'x'.repeat(300) })}\n`);
    await eventually(() => lines().some((m) => m.params?.result?.content === 'hi'));
    await eventually(() =>
      lines().some((m) => m.error?.message === 'Invalid request: message is larger than 200 bytes (the limit); it was skipped'),
    );
    input.end();
    await tick(20); // a while in which the server must not end
    assert.equal(ended, false, 'a running stream holds the server open after the input ended');
    g.release();
    g.end();
    await served;
    const sub = lines().find((m) => m.id === 2)!.result as number;
    const items = lines()
      .filter((m) => m.params?.subscription === sub)
      .map((m) => m.params.result.content ?? m.params.result.type);
    assert.deepEqual(items, [1, 'done']);
  });
});

describe('serveMcpStdio in process', () => {
  it('speaks MCP over a pair of streams: initialize, tools/list, tools/call', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const messages: Record<string, any>[] = [];
    let buffer = '';
    output.on('data', (chunk) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        messages.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
    });
    const hub = hubWith({
      add: {
        params: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
        returns: { type: 'number' },
        handler: ({ a, b }) => (a as number) + (b as number),
      },
    });
    const server = await serveMcpStdio(hub, { input, output, toolNames: 'dotted' });
    const send = (m: object) => input.write(`${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`);
    send({
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
    });
    await eventually(() => messages.some((m) => m.id === 1));
    send({ method: 'notifications/initialized' });
    send({ id: 2, method: 'tools/list' });
    await eventually(() => messages.some((m) => m.id === 2));
    const names = (messages.find((m) => m.id === 2)!.result.tools as { name: string }[]).map((t) => t.name);
    assert.ok(names.includes('t.add'), names.join(', '));
    send({ id: 3, method: 'tools/call', params: { name: 't.add', arguments: { a: 2, b: 3 } } });
    await eventually(() => messages.some((m) => m.id === 3));
    assert.deepEqual(messages.find((m) => m.id === 3)!.result.structuredContent, { result: 5 });
    await server.close();
  });
});
