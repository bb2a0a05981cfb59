/**
 * A remote hub is a client too (issue #22, items 13–16): whatever a mounted or joined
 * hub does, the local hub starts, serves its own tree, and holds bounded memory.
 * Each remote here is a raw `ws` peer that behaves badly (test/support/hostile-remote.ts);
 * every case checks the refusal's log line, that `health.check` is answered at once,
 * and (where the remote sends bulk) that the hub's resident memory grew less than
 * the stated bound.
 *
 * | rule                                           | dialled mount (--mount) | joined link (--allow-join)          |
 * |------------------------------------------------|-------------------------|-------------------------------------|
 * | depth limit (endless chain of children)        | yes                     | federation-hostile-attach           |
 * | node limit (5,000 × 10 children)               | yes                     | same code (RemoteHub.attach)        |
 * | schema-byte limit (200k methods in 40 schemas) | yes                     | same code (RemoteHub.attach)        |
 * | frame limit (one 20 MB schema frame)           | yes (1009)              | the server's own frame limit        |
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rssOf } from '../support/federation.js';
import { describing, endlessChain, fakeHash, healthy, logged, schemaOf, underAttack } from '../support/hostile-remote.js';

const MiB = 1024 * 1024;
const { serve, remote } = underAttack();

describe('a remote tree is capped: depth, activations, schema bytes, frame size', () => {
  it('an endless chain of children is refused at the depth limit (16), having cost 17 schemas', async () => {
    const deep = await remote(endlessChain);
    const hub = await serve(['--mount', `evil=${deep.url}`, '--mount-timeout-ms', '5000']);
    assert.match(
      await logged(hub, /mount evil refused/),
      /mount evil refused \(the remote's tree is more than 16 levels deep \(the mount's depth limit\)\)/,
    );
    await healthy(hub);
    const schemas = deep.peers[0]!.requests.filter((r) => /schema$/.test(r.params?.method ?? ''));
    assert.ok(schemas.length <= 17, `${schemas.length} schema requests`);
  });

  it('50,000 children (5,000 × 10) are refused at the node limit (10,000) after a few schemas, memory bounded', async () => {
    const wide = (prefix: string) =>
      Array.from({ length: 5000 }, (_, i) => ({ namespace: `${prefix}${i}`, hash: fakeHash(`${prefix}${i}`) }));
    const r = await remote(
      describing({
        hash: () => 'f00df00df00df00d',
        // The root lists 10 children; each of those lists 5,000 more.
        schema: (path) =>
          path === ''
            ? schemaOf('evil', { hash: 'f00df00df00df00d', children: wide('c').slice(0, 10) })
            : schemaOf(path, { children: path.includes('.') ? [] : wide('n') }),
      }),
    );
    const hub = await serve(['--mount', `evil=${r.url}`]);
    const before = rssOf(hub.child.pid!);
    assert.match(
      await logged(hub, /mount evil refused/),
      /mount evil refused \(the remote's tree has more than 10000 activations \(the mount's node limit; \d+ listed so far\)\)/,
    );
    await healthy(hub);
    const schemas = r.peers[0]!.requests.filter((q) => /schema$/.test(q.params?.method ?? ''));
    assert.ok(schemas.length <= 1 + 10, `${schemas.length} schema requests: children are counted before they are fetched`);
    const grew = rssOf(hub.child.pid!) - before;
    assert.ok(grew < 64 * MiB, `RSS grew by ${Math.round(grew / MiB)} MiB`);
  });

  it('200,000 methods in 40 schemas of ~0.5 MB are refused at the schema-byte limit (4 MiB), memory bounded', async () => {
    const methods = (ns: string) =>
      Array.from({ length: 5000 }, (_, i) => ({
        name: `m${i}`,
        description: 'x'.repeat(40),
        params: { type: 'object' },
        returns: {},
        hash: fakeHash(`${ns}${i}`),
      }));
    const cache = new Map<string, unknown>();
    const r = await remote(
      describing({
        hash: () => 'beefbeefbeefbeef',
        schema: (path) => {
          if (path === '')
            return schemaOf('evil', {
              hash: 'beefbeefbeefbeef',
              children: Array.from({ length: 40 }, (_, i) => ({ namespace: `big${i}`, hash: fakeHash(`big${i}`) })),
            });
          if (!cache.has(path)) cache.set(path, schemaOf(path, { methods: methods(path) }));
          return cache.get(path);
        },
      }),
    );
    const hub = await serve(['--mount', `evil=${r.url}`]);
    const before = rssOf(hub.child.pid!);
    assert.match(
      await logged(hub, /mount evil refused/),
      /mount evil refused \(the remote's schemas are more than 4194304 bytes \(the mount's schema-byte limit; \d+ read so far\)\)/,
    );
    await healthy(hub);
    const grew = rssOf(hub.child.pid!) - before;
    assert.ok(grew < 128 * MiB, `RSS grew by ${Math.round(grew / MiB)} MiB`);
  });

  it('one 20 MB schema frame closes the link with 1009 (the frame limit applies to mounts too), memory bounded', async () => {
    const huge = schemaOf('evil', {
      hash: 'abcdabcdabcdabcd',
      methods: Array.from({ length: 200_000 }, (_, i) => ({
        name: `m${i}`,
        description: 'y'.repeat(40),
        returns: {},
        hash: fakeHash(`${i}`),
      })),
    });
    assert.ok(JSON.stringify(huge).length > 20_000_000);
    const r = await remote(describing({ hash: () => 'abcdabcdabcdabcd', schema: () => huge }));
    const hub = await serve(['--mount', `evil=${r.url}`]);
    const before = rssOf(hub.child.pid!);
    assert.match(
      await logged(hub, /mount evil refused/),
      /^plexus-hub: mount evil refused \(connection failed: Max payload size exceeded\)$/,
    );
    assert.equal(await r.peers[0]!.closed, 1009);
    await healthy(hub);
    const grew = rssOf(hub.child.pid!) - before;
    assert.ok(grew < 64 * MiB, `RSS grew by ${Math.round(grew / MiB)} MiB`);
  });
});
