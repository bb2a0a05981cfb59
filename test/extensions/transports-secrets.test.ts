// Issue #27 item 4: a secret's value never appears in an item, an error message or its
// details, a log line or an audit record. The `local-rest` transport runs behind a real
// hub (token auth, audit log, a WebSocket client) against a fake service that echoes the
// bearer back in every way it can (an error body, a 200 body, an SSE event, base64, a
// header); after the run, every item, every error, the hub's stderr and the audit file
// are searched for the value: nowhere. The service did get it (the check is not vacuous).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, health } from '../../activations/extension/transports/local-rest.js';
import { SCRUBBED } from '../../activations/extension/transports/scrub.js';
import type { TransportOptions } from '../../activations/extension/types.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { SecretStore } from '../../src/auth/secret-store.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { defineActivation, DynamicHub, PlexusClient, serveWebSocket, type StreamItem } from '../../src/index.js';
import { startFakeRest, type FakeRest } from '../support/fake-rest.js';

// Shaped like no known credential, so only the transport's scrubbing (not the audit
// log's redaction by shape) can keep it out.
const SECRET = `notes${randomBytes(12).toString('hex')}`;
const forms = [SECRET, Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET).toString('base64url')];

describe('secrets never leak from the local-rest transport', () => {
  let fake: FakeRest;
  let dir: string;
  before(async () => {
    fake = await startFakeRest({ token: SECRET });
    dir = mkdtempSync(join(tmpdir(), 'plexus-secrets-'));
    new SecretStore(dir).set('notes_token', SECRET);
  });
  after(() => fake.close());

  it('not in items, errors, details, stderr or the audit log, whatever the service echoes', async () => {
    const store = new SecretStore(dir);
    const transport: TransportOptions = { secrets: store, approvedHosts: [] };
    const bearer = { name: 'notes_token', attach: 'bearer' };
    const header = { name: 'notes_token', attach: { header: 'X-Notes-Key' } };
    const routes: Record<string, Record<string, unknown>> = {
      list: { pathTemplate: '/notes', secret: bearer },
      whoami: { pathTemplate: '/whoami', secret: bearer },
      whoami_stream: { pathTemplate: '/whoami-stream', secret: bearer },
      echo: { pathTemplate: '/echo-bearer', secret: bearer },
      echo_header: { pathTemplate: '/echo-bearer', secret: header }, // a 401 (the fake wants a bearer), the header carried the secret
      away: { pathTemplate: '/redirect-away', secret: bearer },
      slow: { pathTemplate: '/slow', secret: bearer, timeoutMs: 200 },
      big: { pathTemplate: '/big', secret: bearer, maxResponseBytes: 1000 },
    };
    const methods = Object.fromEntries(
      Object.entries(routes).map(([name, over]) => [
        name,
        {
          streaming: true,
          handler: (_params: unknown, ctx: { signal: AbortSignal }) =>
            dispatch({ baseUrl: `${fake.url}/api`, method: 'GET', ...over }, {}, { ...transport, signal: ctx.signal }),
        },
      ]),
    );
    const { token } = new TokenStore(dir).create({ name: 'agent', hub: 'plexus', grants: [parseGrant('notes.*:read')] });
    const auth = new HubAuth({ hub: 'plexus', dataDir: dir });
    const hub = new DynamicHub('plexus', { policy: auth }).register(defineActivation({ namespace: 'notes', methods }));
    const server = await serveWebSocket(hub, { port: 0 });
    const client = new PlexusClient({ url: server.url, token, connectAttempts: 1 });

    // Everything the hub process writes to stderr (and console) while the calls run.
    const logged: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    const items: Record<string, StreamItem[]> = {};
    try {
      for (const name of Object.keys(routes)) {
        items[name] = [];
        for await (const item of client.call(`notes.${name}`, {})) items[name].push(item);
      }
      const healthy = await health(
        { baseUrl: fake.url, method: 'GET', pathTemplate: '/', healthPath: '/api/echo-bearer', secret: bearer },
        transport,
      );
      logged.push(JSON.stringify(healthy));
    } finally {
      process.stderr.write = write;
      client.close();
      await server.close({ graceMs: 0 });
      auth.close();
    }

    // The calls did what they should, and the service was given the secret each time.
    const errorOf = (name: string) =>
      items[name]!.find((i) => i.type === 'error') as { code: string; message: string; details?: unknown } | undefined;
    assert.equal(items.list!.filter((i) => i.type === 'data').length, 2);
    assert.equal(errorOf('echo')?.code, 'transport_error');
    assert.match(
      errorOf('echo')!.message,
      new RegExp(`answered 403 Forbidden: .*token Bearer \\${SCRUBBED.replace(']', '\\]')} may not do this`),
    );
    assert.equal(errorOf('away')?.code, 'transport_error');
    assert.equal(errorOf('slow')?.code, 'transport_error');
    assert.equal(errorOf('big')?.code, 'transport_error');
    const whoami = items.whoami!.find((i) => i.type === 'data') as { content: unknown };
    assert.deepEqual(whoami.content, { you: `Bearer ${SCRUBBED}`, token: SCRUBBED });
    assert.ok(fake.requests.filter((r) => r.headers.authorization === `Bearer ${SECRET}`).length >= 6);
    assert.ok(fake.requests.some((r) => r.headers['x-notes-key'] === SECRET));
    assert.deepEqual(fake.otherHostRequests, []);

    // …and the value is nowhere it could leak to.
    const audit = readFileSync(auth.audit!.file, 'utf8');
    assert.ok(audit.includes('notes.echo'), 'the calls were audited');
    const places: [string, string][] = [
      ['items and errors', JSON.stringify(items)],
      ['stderr', logged.join('')],
      ['the audit log', audit],
    ];
    for (const [where, text] of places)
      for (const form of forms) assert.ok(!text.includes(form), `the secret (${form === SECRET ? 'raw' : 'encoded'}) leaked into ${where}`);
  });

  it('direct dispatch: error details are scrubbed at any depth, keys included', async () => {
    let caught: (Error & { details?: unknown }) | undefined;
    try {
      const route = {
        baseUrl: `${fake.url}/api`,
        method: 'GET',
        pathTemplate: '/echo-bearer',
        secret: { name: 'notes_token', attach: 'bearer' },
      };
      for await (const _ of dispatch(route, {}, { secrets: new SecretStore(dir), approvedHosts: [], signal: new AbortController().signal }))
        void _;
    } catch (err) {
      caught = err as Error & { details?: unknown };
    }
    assert.ok(caught);
    const body = (caught.details as { body: Record<string, unknown> }).body;
    assert.deepEqual(body.nested, { [SCRUBBED]: [SCRUBBED, `${SCRUBBED}${SCRUBBED}`] });
    assert.equal(body.b64, SCRUBBED);
    for (const form of forms) assert.ok(!JSON.stringify({ message: caught.message, details: caught.details }).includes(form));
  });
});
