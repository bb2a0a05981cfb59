import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  DynamicHub,
  PlexusClient,
  PlexusError,
  defineActivation,
  errorItemCode,
  serveWebSocket,
  type PlexusServer,
} from '../../src/index.js';
import { collect, errorOf } from '../support/helpers.js';

/** Methods that fail with a named domain code (as the reference's `arbor.tree_not_found`) and a numeric one. */
const failing = defineActivation({
  namespace: 'failing',
  methods: {
    named: {
      description: 'fails with a named code',
      returns: { type: 'string' },
      handler: () => {
        throw new PlexusError('failing.not_found', 'Thing not found: 7');
      },
    },
    numeric: {
      description: 'fails with a numeric code',
      returns: { type: 'string' },
      handler: () => {
        throw new PlexusError(-32003, 'Forbidden: no');
      },
    },
  },
});

describe('named (string) error codes', () => {
  let server: PlexusServer;
  let client: PlexusClient;
  const hub = new DynamicHub().register(failing);
  before(async () => {
    server = await serveWebSocket(hub, { port: 0 });
    client = new PlexusClient({ url: server.url });
  });
  after(async () => {
    client.close();
    await server.close({ graceMs: 0 });
  });

  it('a thrown PlexusError with a string code becomes an error item with that code', async () => {
    const item = errorOf(await collect(hub.call('failing.named')));
    assert.equal(item?.code, 'failing.not_found');
    assert.equal(item?.message, 'Thing not found: 7');
    assert.equal(errorOf(await collect(hub.call('failing.numeric')))?.code, '-32003');
  });

  it('keeps the code through plexus.call (items re-thrown in process)', async () => {
    assert.equal(errorOf(await collect(hub.call('plexus.call', { method: 'failing.named' })))?.code, 'failing.not_found');
    assert.equal(errorOf(await collect(hub.call('plexus.call', { method: 'failing.numeric' })))?.code, '-32003');
  });

  it('the WebSocket client rejects with the string code, and numeric codes stay numbers', async () => {
    await assert.rejects(
      client.result('failing.named'),
      (e: unknown) => e instanceof PlexusError && e.code === 'failing.not_found' && e.message === 'Thing not found: 7',
    );
    await assert.rejects(client.result('failing.numeric'), (e: unknown) => e instanceof PlexusError && e.code === -32003);
  });

  it('errorItemCode: numbers as numbers, names unchanged, -32000 when absent', () => {
    assert.equal(errorItemCode('-32601'), -32601);
    assert.equal(errorItemCode('arbor.tree_not_found'), 'arbor.tree_not_found');
    assert.equal(errorItemCode('12abc'), '12abc');
    assert.equal(errorItemCode(undefined), -32000);
  });
});
