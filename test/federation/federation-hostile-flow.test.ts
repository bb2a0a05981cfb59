/**
 * A remote hub is a client too (issue #22, items 13–16): whatever a mounted or joined
 * hub does, the local hub starts, serves its own tree, and holds bounded memory.
 * Each remote here is a raw `ws` peer that behaves badly (test/support/hostile-remote.ts);
 * every case checks the refusal's log line, that `health.check` is answered at once,
 * and (where the remote sends bulk) that the hub's resident memory grew less than
 * the stated bound.
 *
 * | rule                                                  | dialled mount (--mount) | joined link (--allow-join)   |
 * |-------------------------------------------------------|-------------------------|------------------------------|
 * | tree read at most once per watch interval (lying hash) | yes                     | same code (RemoteHub)        |
 * | … and when the remote drops after every attach         | yes                     | a re-join is an attach: same |
 * | items for ids never asked for: dropped, link closed    | yes                     | same code (RpcConnection)    |
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlexusClient } from '../../src/index.js';
import { rssOf, until } from '../support/federation.js';
import { describing, fakeHash, healthy, logged, schemaOf, underAttack } from '../support/hostile-remote.js';

const MiB = 1024 * 1024;
const { serve, remote } = underAttack();

describe('a remote cannot make the mount re-read its tree more often than the watch interval', () => {
  it('a remote whose hash never matches its schema is read once, not at every poll', async () => {
    const r = await remote(
      describing({
        hash: () => 'liarliarliarliar',
        schema: () => schemaOf('evil', { hash: 'truetruetruetrue' }),
      }),
    );
    const hub = await serve(['--no-builtins', '--mount', `evil=${r.url}`, '--watch-ms', '100']);
    await logged(hub, /mount evil connected/);
    const peer = r.peers[0]!;
    const polls = () => peer.requests.filter((q) => q.params?.method === 'evil.hash').length;
    await until(async () => assert.ok(polls() >= 10, `${polls()} polls`));
    const reads = peer.requests.filter((q) => q.params?.method === 'evil.schema').length;
    assert.equal(reads, 1, `${reads} reads of the root schema in ${polls()} polls`);
  });

  it('a remote that drops the connection after every attach is read at most once per watch interval', async () => {
    const reads: number[] = [];
    const tree = describing({ hash: () => fakeHash(String(Math.random())), schema: () => schemaOf('evil') });
    const r = await remote((req, peer) => {
      if (req.params?.method === 'evil.schema') {
        reads.push(Date.now());
        tree(req, peer);
        // Described: now drop, so the mount dials again at once (its backoff starts over).
        setImmediate(() => peer.ws.terminate());
        return;
      }
      tree(req, peer);
    });
    const hub = await serve(['--no-builtins', '--mount', `evil=${r.url}`, '--watch-ms', '1000', '--reconnect-max-ms', '200']);
    await until(async () => assert.ok(reads.length >= 4, `${reads.length} tree reads`));
    const gaps = reads.slice(1).map((t, i) => t - reads[i]!);
    // The mount dials again within 200 ms each time; the reads still wait for the interval (less timer slack).
    assert.ok(
      gaps.every((g) => g >= 950),
      `gaps between tree reads: ${gaps.join(', ')} ms`,
    );
    await hub.stop();
  });
});

describe('items for subscriptions the mount never asked for', () => {
  it('are dropped, and the eighth closes the link; nothing is buffered', async () => {
    const tree = describing({ hash: () => 'c0ffeec0ffeec0ff', schema: () => schemaOf('evil', { hash: 'c0ffeec0ffeec0ff' }) });
    let polled = 0;
    const r = await remote((req, peer) => {
      if (req.params?.method === 'evil.hash' && ++polled > 1) {
        // A poll: leave it unanswered (a subscribe stays waiting) and flood ids never handed out.
        const junk = { type: 'data', metadata: { provenance: ['evil'] }, content_type: 'evil', content: 'z'.repeat(64 * 1024) };
        for (let sub = 1000; sub < 3000 && peer.open; sub++) peer.item(sub, junk);
        return;
      }
      tree(req, peer);
    });
    const hub = await serve(['--mount', `evil=${r.url}`, '--watch-ms', '5000']);
    await logged(hub, /mount evil connected/);
    const before = rssOf(hub.child.pid!);
    assert.match(
      await logged(hub, /mount evil unavailable/),
      /mount evil unavailable \(the peer sent 8 items for subscriptions this side never asked for\)/,
    );
    await r.peers[0]!.closed;
    await healthy(hub);
    const grew = rssOf(hub.child.pid!) - before;
    assert.ok(grew < 64 * MiB, `RSS grew by ${Math.round(grew / MiB)} MiB`);
  });
});

describe('the client core drops a server that sends items nobody asked for', () => {
  it('PlexusClient: the call fails with the reason after the eighth stray item, nothing is kept', async () => {
    const r = await remote((_req, peer) => {
      // Never answers the subscribe; floods ids it never handed out instead.
      for (let sub = 500; sub < 600 && peer.open; sub++) peer.item(sub, { type: 'data', metadata: {}, content_type: 'x', content: 1 });
    });
    const client = new PlexusClient({ url: r.url, connectAttempts: 1 });
    await assert.rejects(client.collect('anything'), /the peer sent 8 items for subscriptions this side never asked for/);
    await r.peers[0]!.closed;
    client.close();
  });
});
