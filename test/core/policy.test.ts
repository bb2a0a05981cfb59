// The hub's policy seam (src/hub/policy.ts) with a policy that is not HubAuth: the hub
// asks it, and nothing else, who may call and see what, and lets it watch each call.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DynamicHub,
  ErrorCode,
  PlexusError,
  defineActivation,
  type AccessCheck,
  type Activation,
  type HubPolicy,
  type MethodInfo,
  type ObservedCall,
  type PluginSchema,
} from '../../src/index.js';
import { ToolCatalog } from '../../src/mcp/index.js';
import { collect, contents, errorOf } from '../support/helpers.js';

/** Hides `vault` (and so `vault.open`) from principal "guest"; refuses what it hides, records what it observes. */
function guestPolicy() {
  const ended: { principal: unknown; path: string; method?: string; items: number; failed: boolean }[] = [];
  let treeChanges = 0;
  const hidden = (principal: unknown, at: readonly string[]) => principal === 'guest' && at[0] === 'vault';
  const policy: HubPolicy = {
    hub: 'plexus',
    guard: (check: AccessCheck) => {
      if (hidden(check.principal, check.at)) throw PlexusError.activationNotFound(check.at[check.at.length - 1]!);
    },
    visible: (principal: unknown, _node: Activation, at: readonly string[], _method?: MethodInfo) => !hidden(principal, at),
    admit: (principal: unknown) => {
      if (principal === 'nobody') throw new PlexusError(ErrorCode.AuthenticationRequired, 'Authentication required');
    },
    observeCall: (call: ObservedCall) => (end) => {
      ended.push({
        principal: call.principal,
        path: call.path,
        method: call.method()?.name,
        items: end.items,
        failed: end.error !== undefined,
      });
      return { observed: ended.length };
    },
    treeChanged: () => void treeChanges++,
    mechanisms: () => [{ kind: 'custom' }],
  };
  return { policy, ended, treeChanges: () => treeChanges };
}

function activations() {
  return [
    defineActivation({ namespace: 'lobby', methods: { hello: { handler: () => 'hello' } } }),
    defineActivation({
      namespace: 'vault',
      methods: {
        open: {
          streaming: true,
          *handler() {
            yield 'gold';
            yield 'silver';
          },
        },
      },
    }),
  ];
}

describe('hub policy seam', () => {
  it('a guest cannot call, see in schemas or list as tools what the policy hides; others can', async () => {
    const { policy } = guestPolicy();
    const hub = new DynamicHub('plexus', { policy }).register(...activations());
    assert.match(errorOf(await collect(hub.call('vault.open', {}, { principal: 'guest' })))!.message, /Activation not found: vault/);
    assert.deepEqual(contents(await collect(hub.call('vault.open', {}, { principal: 'owner' }))), ['gold', 'silver']);
    assert.deepEqual(contents(await collect(hub.call('lobby.hello', {}, { principal: 'guest' }))), ['hello']);

    const children = (schema: unknown) => (schema as PluginSchema).children!.map((c) => c.namespace);
    assert.deepEqual(children(await hub.schema(undefined, { principal: 'guest' })), ['lobby']);
    assert.deepEqual(children(await hub.schema(undefined, { principal: 'owner' })), ['lobby', 'vault']);
    const rootSchema = contents(await collect(hub.call('plexus.schema', {}, { principal: 'guest' })))[0];
    assert.deepEqual(children(rootSchema), ['lobby']);
    // A hidden path fails exactly like a missing one.
    const failure = (path: string) =>
      hub.schema(path, { principal: 'guest' }).then(
        () => 'answered',
        (e: Error) => e.message,
      );
    assert.equal(await failure('vault'), (await failure('nowhere')).replace('nowhere', 'vault'));
    assert.equal(await failure('vault.open'), 'Activation not found: vault');
    assert.equal(await failure('nowhere.open'), 'Activation not found: nowhere');
    await assert.rejects(hub.schema(undefined, { principal: 'nobody' }), (e: PlexusError) => e.code === ErrorCode.AuthenticationRequired);

    const tools = await new ToolCatalog(hub).entries();
    assert.equal(tools.get('vault.open')!.visible('guest' as never), false);
    assert.equal(tools.get('vault.open')!.visible('owner' as never), true);
    assert.equal(tools.get('lobby.hello')!.visible('guest' as never), true);

    const info = contents(await collect(hub.info()))[0] as { auth_capabilities: { mechanisms: unknown[] } };
    assert.deepEqual(info.auth_capabilities.mechanisms, [{ kind: 'custom' }]);
  });

  it('the call observer sees each call from creation to end, with the routed method, and adds done metadata', async () => {
    const { policy, ended } = guestPolicy();
    const hub = new DynamicHub('plexus', { policy }).register(...activations());
    const ok = await collect(hub.call('vault.open', {}, { principal: 'owner' }));
    const refused = await collect(hub.call('vault.open', {}, { principal: 'guest' }));
    assert.deepEqual(ended, [
      { principal: 'owner', path: 'vault.open', method: 'open', items: 2, failed: false },
      { principal: 'guest', path: 'vault.open', method: 'open', items: 0, failed: true },
    ]);
    const done = (items: typeof ok) => items.find((i) => i.type === 'done')!.metadata as unknown as Record<string, unknown>;
    assert.equal(done(ok).observed, 1);
    assert.equal(done(refused).observed, 2);
  });

  it('is told when the tree changes, and a policy made for another hub is refused', () => {
    const { policy, treeChanges } = guestPolicy();
    const hub = new DynamicHub('plexus', { policy });
    const before = treeChanges();
    hub.register(...activations());
    hub.unregister('vault');
    assert.equal(treeChanges(), before + 2);
    assert.throws(() => new DynamicHub('other', { policy }), /The hub's policy is for hub "plexus", not "other"/);
  });

  it("guards compose in order, the policy's first, and an async one is awaited before the next is asked", async () => {
    const asked: string[] = [];
    const policy: HubPolicy = {
      guard: async (check) => {
        await new Promise((r) => setTimeout(r, 5));
        asked.push(`policy ${check.at.join('.') || '<root>'}`);
      },
    };
    const guard = (check: AccessCheck) => {
      asked.push(`hub ${check.at.join('.') || '<root>'}`);
      if (check.final) throw new PlexusError(ErrorCode.Forbidden, 'Forbidden: the hub guard says no');
    };
    const hub = new DynamicHub('plexus', { policy, guard }).register(...activations());
    assert.match(errorOf(await collect(hub.call('lobby.hello')))!.message, /the hub guard says no/);
    assert.deepEqual(asked, ['policy <root>', 'hub <root>', 'policy lobby', 'hub lobby']);
  });
});
