// Issue #27, the SSRF guard of the `local-rest` transport: a host the install did not
// approve is reached on loopback only, however its address is written or resolved, and a
// name that rebinds between the check and the connect is caught. A "trap" TCP server on
// every interface counts connections: a guard that let a refused address through would
// reach it (this machine's non-loopback address leads there too).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { canonicalAddress, refusalOf } from '../../activations/extension/transports/address-guard.js';
import { dispatch, health } from '../../activations/extension/transports/local-rest.js';
import type { TransportOptions } from '../../activations/extension/types.js';
import { dispatched } from '../support/transport-dispatch.js';
import { startFakeRest, type FakeRest } from '../support/fake-rest.js';

const TOKEN = `tok_${randomBytes(16).toString('hex')}`;
type Resolver = NonNullable<TransportOptions['resolver']>;
const options = (extra: Partial<TransportOptions> = {}) => ({
  secrets: { get: (name: string) => (name === 'notes_token' ? TOKEN : undefined) },
  approvedHosts: [] as string[],
  signal: new AbortController().signal,
  ...extra,
});

const run = (route: unknown, opts = options()) => dispatched(dispatch, route, {}, opts);

/** This machine's first non-loopback IPv4 address (the trap answers there), else a documentation address. */
const external =
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '198.51.100.7';
const hasExternal = external !== '198.51.100.7';

/** A resolver answering from a list, one answer per call (the last one repeats), recording each call. */
function resolverOf(...answers: string[][]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (host: string) => {
    calls.push(host);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    return answer.map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));
  };
  return Object.assign(resolver, { calls });
}

describe('the SSRF guard', () => {
  let fake: FakeRest;
  let trap: Server;
  let trapPort: number;
  let trapConnections = 0;
  const trapSockets = new Set<Socket>();
  const route = (baseUrl: string, over: Record<string, unknown> = {}) => ({
    baseUrl,
    method: 'GET',
    pathTemplate: '/notes',
    secret: { name: 'notes_token', attach: 'bearer' },
    ...over,
  });
  before(async () => {
    fake = await startFakeRest({ token: TOKEN });
    trap = createServer((socket) => {
      trapConnections++;
      trapSockets.add(socket.on('close', () => trapSockets.delete(socket)));
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n["trapped"]');
    });
    await new Promise<void>((r) => trap.listen(0, '0.0.0.0', r));
    trapPort = (trap.address() as { port: number }).port;
  });
  after(async () => {
    await fake.close();
    // A client that never reads the trap's answer would keep close() waiting.
    for (const socket of trapSockets) socket.destroy();
    await new Promise((r) => trap.close(r));
  });

  it('normalises every way of writing an address, and refuses all but loopback', () => {
    const table: [string, string | undefined, RegExp | undefined][] = [
      ['127.0.0.1', '127.0.0.1', undefined],
      ['2130706433', '127.0.0.1', undefined],
      ['0x7f000001', '127.0.0.1', undefined],
      ['0x7f.1', '127.0.0.1', undefined],
      ['0177.0.0.1', '127.0.0.1', undefined],
      ['127.1', '127.0.0.1', undefined],
      ['127.9.8.7', '127.9.8.7', undefined],
      ['::1', '::1', undefined],
      ['[0:0:0:0:0:0:0:1]', '::1', undefined],
      ['::ffff:127.0.0.1', '127.0.0.1', undefined],
      ['[::ffff:7f00:1]', '127.0.0.1', undefined],
      ['0.0.0.0', '0.0.0.0', /unspecified/],
      ['0', '0.0.0.0', /unspecified/],
      ['::', '::', /unspecified/],
      ['[::]', '::', /unspecified/],
      ['::ffff:0.0.0.0', '0.0.0.0', /unspecified/],
      ['10.0.0.1', '10.0.0.1', /not a loopback address/],
      ['167772161', '10.0.0.1', /not a loopback address/],
      ['::ffff:10.0.0.1', '10.0.0.1', /not a loopback address/],
      ['169.254.169.254', '169.254.169.254', /not a loopback address/],
      ['fd00::2', 'fd00::2', /not a loopback address/],
      ['::127.0.0.1', '::7f00:1', /not a loopback address/],
      ['notes.test', undefined, /not an IP address/],
    ];
    for (const [text, canonical, refusal] of table) {
      assert.equal(canonicalAddress(text), canonical, text);
      const why = refusalOf(text);
      if (refusal) assert.match(why ?? '', refusal, text);
      else assert.equal(why, undefined, text);
    }
  });

  it('loopback written as decimal, hex, octal, short or IPv4-mapped IPv6 reaches the service', async () => {
    for (const host of ['2130706433', '0x7f.0.0.1', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]']) {
      const { items, error } = await run(route(`http://${host}:${fake.port}/api`));
      assert.equal(error, undefined, `${host}: ${error?.message}`);
      assert.equal(items.length, 2, host);
    }
  });

  it('0.0.0.0 and [::] (which reach this machine) are refused even when listed, unless approved', async () => {
    for (const host of ['0.0.0.0', '[::]']) {
      const bare = host.replace(/[[\]]/g, '');
      const { error } = await run(route(`http://${host}:${trapPort}`, { allowedHosts: [bare] }));
      assert.equal(error?.code, 'transport_error', host);
      assert.match(error!.message, new RegExp(`refused to connect: host '${bare.replace(/\./g, '\\.')}' is the unspecified address`));
    }
    assert.equal(trapConnections, 0);
  });

  it('a non-loopback literal that the route lists but the install did not approve is refused; approved, it is reached', async () => {
    const listed = route(`http://${external}:${trapPort}`, { allowedHosts: [external] });
    const { error } = await run(listed);
    assert.equal(error?.code, 'transport_error');
    assert.match(error!.message, /is not a loopback address; a host other than loopback is reached only when the install approved it/);
    assert.equal(trapConnections, 0);
    if (!hasExternal) return;
    const approved = await run(listed, options({ approvedHosts: [external] }));
    assert.deepEqual([approved.error, approved.items], [undefined, ['trapped']]);
    assert.equal(trapConnections, 1);
    trapConnections = 0;
  });

  it('a name resolving to loopback (any form) is reached; to anything else, even partly, refused', async () => {
    for (const answer of [['127.0.0.1'], ['::ffff:127.0.0.1'], ['127.0.0.1', '::1']]) {
      const resolver = resolverOf(answer);
      const { items, error } = await run(route(`http://notes.test:${fake.port}/api`), options({ resolver }));
      assert.equal(error, undefined, `${answer}: ${error?.message}`);
      assert.equal(items.length, 2);
      assert.ok(resolver.calls.every((h) => h === 'notes.test'));
    }
    for (const answer of [[external], ['127.0.0.1', external], ['169.254.169.254'], ['0.0.0.0']]) {
      const { error } = await run(route(`http://notes.test:${trapPort}`), options({ resolver: resolverOf(answer) }));
      assert.equal(error?.code, 'transport_error', String(answer));
      assert.match(
        error!.message,
        /refused to connect: host 'notes\.test' resolves to [^,]+, which is (not a loopback address|the unspecified address)/,
      );
      assert.equal((error!.details as { refused: string }).refused, 'not_loopback');
    }
    assert.equal(trapConnections, 0);
  });

  it('a name that rebinds between the check and the connect is refused at the connect', async () => {
    // First answer (the check): loopback. Every later one (the connect's lookup): the trap.
    const resolver = resolverOf(['127.0.0.1'], [external]);
    const { error } = await run(route(`http://rebind.test:${trapPort}`), options({ resolver }));
    assert.ok(resolver.calls.length >= 2, `resolved ${resolver.calls.length} time(s)`);
    assert.equal(error?.code, 'transport_error');
    assert.match(
      error!.message,
      new RegExp(`host 'rebind\\.test' resolves to ${external.replace(/\./g, '\\.')}, which is not a loopback address`),
    );
    assert.equal(trapConnections, 0);
  });

  it('an approved name may resolve anywhere; resolver failures and non-addresses are named', async () => {
    if (hasExternal) {
      const { items } = await run(
        route(`http://notes.test:${trapPort}`),
        options({ resolver: resolverOf([external]), approvedHosts: ['Notes.Test'] }),
      );
      assert.deepEqual(items, ['trapped']);
      trapConnections = 0;
    }
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
    };
    const unresolved = await run(route(`http://nowhere.test:${fake.port}`), options({ resolver: failing }));
    assert.equal(unresolved.error?.code, 'source_unavailable');
    assert.match(unresolved.error!.message, /host 'nowhere\.test' could not be resolved \(ENOTFOUND\)/);
    const garbage = await run(route(`http://odd.test:${fake.port}`), options({ resolver: resolverOf(['localhost']) }));
    assert.match(garbage.error!.message, /resolves to localhost, which is not an IP address/);
  });

  it('localhost through the system resolver is loopback; health reports a refusal as unavailable with the reason', async () => {
    const { items, error } = await run(route(`http://localhost:${fake.port}/api`));
    assert.equal(error, undefined, error?.message);
    assert.equal(items.length, 2);
    const refused = await health(route(`http://notes.test:${trapPort}`), options({ resolver: resolverOf([external]) }));
    assert.equal(refused.status, 'unavailable');
    assert.match(refused.detail, /host 'notes\.test' resolves to .*, which is not a loopback address/);
    assert.equal(trapConnections, 0);
  });
});
