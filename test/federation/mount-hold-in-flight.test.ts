/**
 * A mount holds a stream whose local consumer stalled (`<root>.call_pause`), but the
 * remote keeps sending until it reads that request: under load, megabytes. Those
 * items were in flight when the hold was asked; they must not stop the whole socket
 * (which stalls every other stream through the mount: federation.test.ts saw "0 of
 * 3000 items" once on a loaded machine). A remote that never confirms a hold is
 * still stopped, at the in-flight limit. The remote is a raw `ws` peer that sends
 * exactly that; the mount is in process with a small high-water mark, so the limits
 * are reached with little data.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicHub, mountRemote, type StreamItem } from '../../src/index.js';
import { eventually } from '../support/helpers.js';
import { type Behaviour, describing, fakeHash, type HostileServer, hostileServer, schemaOf } from '../support/hostile-remote.js';

const KiB = 1024;
/** The mount's high-water mark: a stream is held past 16 KiB unread, the socket stops past 512 KiB (in flight: 2 MiB). */
const HIGH = 64 * KiB;
const ITEM = 'x'.repeat(8 * KiB);

const method = (name: string, streaming: boolean) => ({ name, description: name, hash: fakeHash(name), streaming, bidirectional: false });
const feed = schemaOf('feed', { methods: [method('flood', true), method('ping', false)] });
const root = schemaOf('evil', { children: [{ namespace: 'feed', hash: feed.hash as string }] });
const tree = describing({ hash: () => root.hash as string, schema: (path) => ({ '': root, feed })[path] });

/**
 * `feed.flood` sends items until it is asked to hold, then `inFlight` bytes more (what
 * was on its way), then confirms the hold (or never does); `feed.ping` answers "pong".
 */
function floodingRemote(inFlight: number, confirms: boolean): { behaviour: Behaviour; state: { sentAfterHold: number } } {
  const state = { sentAfterHold: 0 };
  let flood: { sub: number; held: boolean } | undefined;
  const behaviour: Behaviour = (req, peer) => {
    const called = req.method === 'evil.call' ? String(req.params?.method) : '';
    const data = { type: 'data', metadata: { provenance: ['evil', 'feed'] }, content_type: 'evil.feed.flood', content: ITEM };
    if (called === 'evil.feed.flood') {
      const current = { sub: peer.subscribe(req.id), held: false };
      flood = current;
      const pump = (): void => {
        for (let i = 0; i < 8 && !current.held && peer.open; i++) peer.item(current.sub, data);
        if (!current.held && peer.open) setImmediate(pump);
      };
      pump();
    } else if (called === 'evil.feed.ping') {
      peer.answer(req.id, 'pong', 'evil.feed.ping');
    } else if (req.method === 'evil.call_pause' && flood && !flood.held && req.params?.[0] === flood.sub) {
      flood.held = true;
      for (let sent = 0; sent < inFlight && peer.open; sent += ITEM.length) peer.item(flood.sub, data);
      state.sentAfterHold = inFlight;
      if (confirms) peer.send({ jsonrpc: '2.0', id: req.id, result: true });
    } else {
      tree(req, peer);
    }
  };
  return { behaviour, state };
}

const remotes: HostileServer[] = [];
after(async () => {
  for (const r of remotes) await r.close();
});

async function mounted(behaviour: Behaviour): Promise<{ hub: DynamicHub; remote: HostileServer }> {
  const remote = await hostileServer(behaviour);
  remotes.push(remote);
  const hub = new DynamicHub('plexus');
  mountRemote(hub, 'evil', remote.url, { highWaterBytes: HIGH, watchMs: 0 });
  await hub.ready();
  return { hub, remote };
}

/**
 * Calls `evil.feed.flood` in process, takes the first item and asks for no more: the
 * stalled consumer (the call reads a few items ahead, then the mount's stream is held).
 */
async function stalledFlood(hub: DynamicHub): Promise<AsyncIterator<StreamItem>> {
  const stream = hub.call('evil.feed.flood', {})[Symbol.asyncIterator]();
  assert.equal((await stream.next()).done, false);
  return stream;
}

/** `evil.feed.ping` through the mount, or 'stalled' if it does not answer within `ms`. */
async function ping(hub: DynamicHub, ms: number): Promise<unknown> {
  const answer = (async () => {
    for await (const item of hub.call('evil.feed.ping', {})) if (item.type === 'data') return item.content;
    return 'no data';
  })();
  return Promise.race([answer, new Promise((r) => setTimeout(() => r('stalled'), ms).unref())]);
}

describe('a held stream and what was in flight when it was held', () => {
  it('items the remote sent before it confirmed the hold (2× the socket limit) do not stop the other streams', async () => {
    const { behaviour, state } = floodingRemote(1024 * KiB, true);
    const { hub } = await mounted(behaviour);
    const flood = await stalledFlood(hub);
    await eventually(() => state.sentAfterHold > 0, 10_000);
    // Answered at once; before, the socket stopped being read past 512 KiB and the ping never came.
    assert.equal(await ping(hub, 10_000), 'pong');
    await flood.return?.();
  });

  it('a remote that never confirms the hold is stopped at the in-flight limit: the socket is no longer read', async () => {
    const { behaviour, state } = floodingRemote(6 * 1024 * KiB, false);
    const { hub, remote } = await mounted(behaviour);
    const flood = await stalledFlood(hub);
    await eventually(() => state.sentAfterHold > 0, 10_000);
    // The mount stopped reading: what the remote wrote stays in its own buffer, and nothing else gets through.
    await eventually(() => remote.peers[0]!.ws.bufferedAmount > 0, 10_000);
    assert.equal(await ping(hub, 1000), 'stalled');
    await flood.return?.();
  });
});
