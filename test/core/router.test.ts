import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DynamicHub,
  ErrorCode,
  PlexusError,
  defineActivation,
  type AccessCheck,
  type Activation,
  type CallContext,
} from '../../src/index.js';
import { builtinActivations } from '../../activations/index.js';
import { collect, contents, errorOf } from '../support/helpers.js';

/** A guard that records what it was asked and refuses principal "mallory" at `solar.earth`. */
function recordingGuard() {
  const seen: { principal: unknown; at: string; path: string; final: boolean; method?: string }[] = [];
  const guard = (check: AccessCheck): void => {
    seen.push({
      principal: check.principal,
      at: check.at.join('.'),
      path: check.path,
      final: check.final,
      ...(check.method ? { method: check.method.name } : {}),
    });
    if (check.principal === 'mallory' && check.at.join('.') === 'solar.earth')
      throw new PlexusError(ErrorCode.Forbidden, 'Forbidden: solar.earth');
  };
  return { seen, guard };
}

describe('router: the access-check seam', () => {
  it('asks the guard once per hop, root first, with the principal and the method on the final hop', async () => {
    const { seen, guard } = recordingGuard();
    const hub = new DynamicHub('plexus', { guard }).register(...builtinActivations());
    const items = await collect(hub.call('solar.earth.luna.info', {}, { principal: 'alice' }));
    assert.equal((contents(items)[0] as { name: string }).name, 'Luna');
    assert.deepEqual(seen, [
      { principal: 'alice', at: '', path: 'solar.earth.luna.info', final: false },
      { principal: 'alice', at: 'solar', path: 'solar.earth.luna.info', final: false },
      { principal: 'alice', at: 'solar.earth', path: 'solar.earth.luna.info', final: false },
      { principal: 'alice', at: 'solar.earth.luna', path: 'solar.earth.luna.info', final: true, method: 'info' },
    ]);
    // A cached route is guarded all the same.
    seen.length = 0;
    await collect(hub.call('solar.earth.luna.info', {}, { principal: 'alice' }));
    assert.equal(seen.length, 4);
  });

  it("a refusal ends the call with the guard's error, before params are validated and without running the method", async () => {
    const { guard } = recordingGuard();
    let ran = false;
    const hub = new DynamicHub('plexus', { guard }).register(
      defineActivation({
        namespace: 'solar',
        children: () => [
          defineActivation({
            namespace: 'earth',
            methods: {
              dig: {
                params: { type: 'object', properties: { depth: { type: 'number' } }, required: ['depth'] },
                handler: () => (ran = true),
              },
            },
          }),
        ],
      }),
    );
    const refused = await collect(hub.call('solar.earth.dig', { depth: 'deep' }, { principal: 'mallory' }));
    assert.deepEqual(errorOf(refused), { ...errorOf(refused), message: 'Forbidden: solar.earth', code: '-32003' });
    assert.equal(ran, false);
    const allowed = await collect(hub.call('solar.earth.dig', { depth: 'deep' }, { principal: 'alice' }));
    assert.match(errorOf(allowed)!.message, /^Invalid params: param 'depth' must be number/);
  });

  it('an async guard is awaited; an unknown path is still "Activation not found" after the guard saw the hops that exist', async () => {
    const seen: string[] = [];
    const hub = new DynamicHub('plexus', {
      guard: async (check) => {
        await new Promise((r) => setTimeout(r, 1));
        seen.push(check.at.join('.') || '(root)');
      },
    }).register(...builtinActivations());
    assert.deepEqual(contents(await collect(hub.call('echo.once', { message: 'hi' }))), [{ message: 'hi', seq: 1 }]);
    assert.deepEqual(seen, ['(root)', 'echo']);
    seen.length = 0;
    const items = await collect(hub.call('solar.pluto.info'));
    assert.equal(errorOf(items)!.message, 'Activation not found: pluto');
    const first = items[0]!;
    assert.ok(first.type === 'error');
    assert.deepEqual(first.metadata.provenance, ['plexus']);
    assert.deepEqual(seen, ['(root)', 'solar']);
  });

  it('hands the principal to the method as ctx.principal, also through the root `call` method', async () => {
    const whoami = defineActivation({ namespace: 'me', methods: { who: { handler: (_p, ctx: CallContext) => ctx.principal ?? null } } });
    const hub = new DynamicHub().register(whoami);
    assert.deepEqual(contents(await collect(hub.call('me.who', {}, { principal: 'alice' }))), ['alice']);
    assert.deepEqual(contents(await collect(hub.call('plexus.call', { method: 'me.who' }, { principal: 'bob' }))), ['bob']);
    assert.deepEqual(contents(await collect(hub.call('me.who'))), [null]);
  });
});

describe('router: mounted children', () => {
  /** A node that routes the rest of the path itself, here into another hub (as a remote server would). */
  function mount(namespace: string, inner: DynamicHub): Activation {
    return {
      namespace,
      version: inner.version,
      description: `mounted ${inner.namespace}`,
      methods: () => [],
      invoke: () => {
        throw new Error('a mounted node is reached through forward()');
      },
      forward: async function* (rest: string, params: Readonly<Record<string, unknown>>, ctx: CallContext) {
        for await (const item of inner.call(rest, params, { signal: ctx.signal, principal: ctx.principal })) {
          if (item.type === 'data') yield item.content;
          else if (item.type === 'error') throw new PlexusError(Number(item.code), item.message);
        }
      },
    };
  }

  it('hands the rest of the path and the params to the mounted node, after guarding the hops down to it', async () => {
    const remote = new DynamicHub('remote').register(...builtinActivations());
    const { seen, guard } = recordingGuard();
    const hub = new DynamicHub('plexus', { guard }).register(mount('far', remote));
    const items = await collect(hub.call('far.solar.earth.luna.info', {}, { principal: 'alice' }));
    assert.equal((contents(items)[0] as { name: string }).name, 'Luna');
    const data = items.find((i) => i.type === 'data')!;
    assert.equal(data.type === 'data' && data.content_type, 'far.solar.earth.luna.info');
    assert.deepEqual(data.metadata.provenance, ['far']);
    // The mounted hub checks its own hops (it has no guard here); this hub's guard stops at the mount.
    assert.deepEqual(
      seen.map((s) => [s.at, s.final, s.principal]),
      [
        ['', false, 'alice'],
        ['far', true, 'alice'],
      ],
    );
    // The mounted hub validates its own params and reports its own errors.
    const bad = await collect(hub.call('far.echo.once', {}));
    assert.equal(errorOf(bad)!.message, "Invalid params: missing required param 'message'");
    assert.equal(errorOf(bad)!.code, '-32602');
  });
});
