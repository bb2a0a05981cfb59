// MCP HTTP sessions are bounded (issue #10, item 3): idle ones expire, the number
// of live ones is capped, and a rejected initialize leaves nothing behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicHub, defineActivation } from '../../src/index.js';
import { serveMcpHttp } from '../../src/mcp/http.js';
import { eventually, tick } from '../support/helpers.js';

const PROTOCOL = '2025-06-18';
const ACCEPT_BOTH = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

function slow() {
  return defineActivation({
    namespace: 'slow',
    methods: {
      forever: {
        streaming: true,
        handler: async function* () {
          for (;;) {
            yield 1;
            await tick(5);
          }
        },
      },
    },
  });
}

/** A hub whose change listeners are counted: each MCP server registers one. */
function countedHub(): { hub: DynamicHub; listeners: () => number } {
  const hub = new DynamicHub().register(slow());
  let live = 0;
  const onChange = hub.onChange.bind(hub);
  hub.onChange = (listener: () => void) => {
    live++;
    const off = onChange(listener);
    return () => {
      live--;
      off();
    };
  };
  return { hub, listeners: () => live };
}

async function open(url: string): Promise<{ status: number; headers: Record<string, string> }> {
  const init = await fetch(url, { method: 'POST', headers: ACCEPT_BOTH, body: INITIALIZE });
  await init.text();
  const id = init.headers.get('mcp-session-id');
  const headers = { ...ACCEPT_BOTH, 'mcp-session-id': id ?? '', 'mcp-protocol-version': PROTOCOL };
  if (id)
    await (
      await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })
    ).text();
  return { status: init.status, headers };
}

async function ping(url: string, headers: Record<string, string>): Promise<number> {
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }) });
  await r.text();
  return r.status;
}

describe('MCP HTTP sessions are bounded', { timeout: 30_000 }, () => {
  it('a rejected initialize leaves no session, no server and no hub listener behind', async () => {
    const { hub, listeners } = countedHub();
    const server = await serveMcpHttp(hub, { port: 0 });
    try {
      for (let i = 0; i < 50; i++) {
        // The SDK answers 406 when the client does not accept an event stream.
        const r = await fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: INITIALIZE,
        });
        assert.equal(r.status, 406);
        await r.text();
      }
      const bad = await fetch(server.url, {
        method: 'POST',
        headers: ACCEPT_BOTH,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: 42 } }),
      });
      await bad.text();
      assert.equal(bad.status, 400);
      // Only the shared tool catalog listens to the hub.
      await eventually(() => listeners() === 1);
      const ok = await open(server.url);
      assert.equal(ok.status, 200);
      assert.equal(listeners(), 2);
    } finally {
      await server.close();
    }
    assert.equal(listeners(), 1);
  });

  it('a session idle for longer than sessionIdleMs is closed (404 afterwards); a busy one is kept', async () => {
    const { hub, listeners } = countedHub();
    const server = await serveMcpHttp(hub, { port: 0, sessionIdleMs: 1000 }); // room for a loaded machine between opening `busy` and its call
    try {
      const idle = await open(server.url);
      const busy = await open(server.url);
      // A long tool call keeps its session in use past the idle timeout.
      const call = fetch(server.url, {
        method: 'POST',
        headers: busy.headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow.forever', arguments: {} } }),
      });
      const running = await call;
      assert.equal(running.status, 200);
      // The idle session is closed once idle for sessionIdleMs: it releases its listener.
      await eventually(() => listeners() === 2, 10_000);
      assert.equal(await ping(server.url, idle.headers), 404);
      // The busy one, opened a moment after it, would have gone in that sweep or the next
      // (every sessionIdleMs / 4): a pause past that is what shows it was kept.
      await tick(500);
      const reader = running.body!.getReader();
      await reader.cancel();
      assert.equal(listeners(), 2, 'the idle session released its listener; the busy one kept its own');
    } finally {
      await server.close();
    }
  });

  it('at maxSessions a new session evicts the one idle the longest; when all are busy it gets 503', async () => {
    const server = await serveMcpHttp(new DynamicHub().register(slow()), { port: 0, maxSessions: 3 });
    try {
      const first = await open(server.url);
      const second = await open(server.url);
      const third = await open(server.url);
      await ping(server.url, first.headers); // first is now more recent than second
      const fourth = await open(server.url);
      assert.equal(fourth.status, 200);
      assert.equal(await ping(server.url, second.headers), 404, 'the session idle the longest was evicted');
      for (const s of [first, third, fourth]) assert.equal(await ping(server.url, s.headers), 200);
      // Every session busy with a running call: no room.
      const calls = await Promise.all(
        [first, third, fourth].map((s) =>
          fetch(server.url, {
            method: 'POST',
            headers: s.headers,
            body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'slow.forever', arguments: {} } }),
          }),
        ),
      );
      const refused = await fetch(server.url, { method: 'POST', headers: ACCEPT_BOTH, body: INITIALIZE });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '5');
      assert.match(
        ((await refused.json()) as { error: { message: string } }).error.message,
        /^Too many MCP sessions: 3 are open and busy \(the limit\)/,
      );
      await Promise.all(calls.map((c) => c.body!.cancel()));
    } finally {
      await server.close();
    }
  });
});
