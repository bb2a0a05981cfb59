/**
 * A remote hub is a client too (issue #22, items 13–16): whatever a mounted or joined
 * hub does, the local hub starts, serves its own tree, and holds bounded memory.
 * Each remote here is a raw `ws` peer that behaves badly (test/support/hostile-remote.ts);
 * every case checks the refusal's log line, that `health.check` is answered at once,
 * and (where the remote sends bulk) that the hub's resident memory grew less than
 * the stated bound.
 *
 * | rule                                     | dialled mount (--mount) | joined link (--allow-join) |
 * |------------------------------------------|-------------------------|----------------------------|
 * | attach deadline (`_info` never answered) | yes: hub serve listens  | yes                        |
 * | depth limit (endless chain of children)  | federation-hostile-tree | yes                        |
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { callItems } from '../support/federation.js';
import { endlessChain, healthy, HOSTILE_JOIN_TOKEN, hostileJoin, logged, underAttack } from '../support/hostile-remote.js';

const { serve, remote } = underAttack();

describe('attaching a remote hub has a deadline', () => {
  it('hub serve listens and serves its own tree when a mount accepts the socket and never answers', async () => {
    const silent = await remote(() => {});
    // Before the deadline existed, this never listened: `serve` fails after 60 s.
    const hub = await serve(['--mount', `evil=${silent.url}`, '--mount-timeout-ms', '1500']);
    assert.match(
      await logged(hub, /mount evil refused/),
      /plexus-hub: mount evil refused \(the remote did not describe itself within 1500 ms \(the mount's attach deadline\)\)/,
    );
    await healthy(hub);
    // The mount is there, unavailable, and says why.
    const items = await callItems(hub.url, 'evil.anything');
    const error = items.find((i) => i.type === 'error') as { code?: string; message: string } | undefined;
    assert.equal(error?.code, 'remote_unavailable');
    assert.match(error!.message, /did not describe itself/);
    // The silent socket was dropped by the deadline, not kept open.
    await silent.peers[0]!.closed;
  });

  it('a hub that joins and describes an endless tree is refused at the depth limit; the parent keeps serving', async () => {
    const parent = await serve(['--allow-join', '--join-token', HOSTILE_JOIN_TOKEN, '--mount-timeout-ms', '5000']);
    const peer = await hostileJoin(parent.url, 'evil', endlessChain);
    assert.match(
      await logged(parent, /join evil: refused/),
      /join evil: refused \(the remote's tree is more than 16 levels deep \(the mount's depth limit\)\)/,
    );
    await peer.closed;
    await healthy(parent);
  });

  it('a hub that joins and never answers is dropped at the attach deadline', async () => {
    const parent = await serve(['--allow-join', '--join-token', HOSTILE_JOIN_TOKEN, '--mount-timeout-ms', '1000']);
    const peer = await hostileJoin(parent.url, 'mute', () => {});
    assert.match(await logged(parent, /join mute: refused/), /within 1000 ms \(the mount's attach deadline\)/);
    await peer.closed;
    await healthy(parent);
  });
});
