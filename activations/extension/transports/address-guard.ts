/**
 * The SSRF guard of the `local-rest` transport: a host the install did not approve
 * may only be reached on a loopback address. It holds at three points, so that a
 * name which resolves (or rebinds) elsewhere cannot slip through:
 *
 * 1. before connecting, the name is resolved and every address checked (a clear
 *    refusal naming the address);
 * 2. the socket connects through a `lookup` that resolves again and checks again:
 *    the address connected to is one that was checked at that moment;
 * 3. once connected, the socket's `remoteAddress` is checked before a single byte
 *    (headers, a secret) is written; the socket is handed to the HTTP client only then.
 *
 * Every IP form is normalised first: IPv4-mapped IPv6 (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`), decimal, octal and hex IPv4 (`2130706433`, `0177.0.0.1`,
 * `0x7f.1`), and the unspecified addresses `0.0.0.0` and `::` (which reach this
 * machine on Linux) are refused by name.
 */
import { promises as dns, type LookupAddress } from 'node:dns';
import { BlockList, connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { PlexusError } from '../../../src/index.js';
import type { TransportOptions } from '../types.js';
import { sourceUnavailable, transportError } from './errors.js';

export type Resolver = NonNullable<TransportOptions['resolver']>;

/** The system resolver, every address (as `getaddrinfo` answers: /etc/hosts, then DNS). */
export const systemResolver: Resolver = async (host) =>
  (await dns.lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
const unspecified = new BlockList();
unspecified.addSubnet('0.0.0.0', 8, 'ipv4');
unspecified.addAddress('::', 'ipv6');

/** A URL hostname as hosts are compared: lower case, no IPv6 brackets, no trailing dot. */
export function normaliseHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/**
 * An IP address in one canonical form (dotted IPv4; IPv4-mapped IPv6 as the IPv4 it
 * maps; other IPv6 compressed, lower case), or undefined when `text` is no address.
 * The WHATWG URL parser does the IPv4 number forms, as a browser would read them.
 */
export function canonicalAddress(text: string): string | undefined {
  const bare = normaliseHost(text);
  if (bare === '') return undefined;
  let host: string;
  try {
    host = new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname;
  } catch {
    return undefined;
  }
  host = host.replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = Number.parseInt(mapped[1]!, 16);
    const lo = Number.parseInt(mapped[2]!, 16);
    host = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return isIP(host) ? host : undefined;
}

/** Why `address` may not be reached for a host that is not approved (`which is …`); undefined when it may (loopback). */
export function refusalOf(address: string): string | undefined {
  const canonical = canonicalAddress(address);
  if (!canonical) return 'not an IP address';
  const family = isIP(canonical) === 6 ? 'ipv6' : 'ipv4';
  if (unspecified.check(canonical, family))
    return 'the unspecified address (it reaches this machine on some systems: write 127.0.0.1 or localhost)';
  if (!loopback.check(canonical, family)) return 'not a loopback address';
  return undefined;
}

export interface GuardTarget {
  /** The URL's hostname (a name or an IP literal, brackets allowed). */
  readonly hostname: string;
  readonly port: number;
  readonly tls: boolean;
  /** The host is in the install's approved hosts: any address it resolves to may be reached. */
  readonly approved: boolean;
  readonly resolver?: Resolver;
}

/** The refusal of the guard, naming the host, the address and why (`transport_error`). */
function refused(target: GuardTarget, address: string, why: string, stage: 'resolves to' | 'connected to') {
  const host = normaliseHost(target.hostname);
  const what = canonicalAddress(host) === address && stage === 'resolves to' ? `is ${why}` : `${stage} ${address}, which is ${why}`;
  return transportError(
    `refused to connect: host '${host}' ${what}; a host other than loopback is reached only when the install approved it (allowedHosts)`,
    { host, address, refused: 'not_loopback' },
  );
}

/** Resolves `target` and checks every address; the checked addresses. */
export async function resolveChecked(target: GuardTarget): Promise<LookupAddress[]> {
  const host = normaliseHost(target.hostname);
  const literal = canonicalAddress(host);
  let addresses: { address: string; family: number }[];
  if (literal) addresses = [{ address: literal, family: isIP(literal) }];
  else {
    try {
      addresses = await (target.resolver ?? systemResolver)(host);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw sourceUnavailable(`host '${host}' could not be resolved${code ? ` (${code})` : ''}`, { host });
    }
    if (addresses.length === 0) throw sourceUnavailable(`host '${host}' resolves to no address`, { host });
  }
  const checked: LookupAddress[] = [];
  for (const { address } of addresses) {
    const canonical = canonicalAddress(address);
    if (!canonical) throw refused(target, address, 'not an IP address', 'resolves to');
    if (!target.approved) {
      const why = refusalOf(canonical);
      if (why) throw refused(target, canonical, why, 'resolves to');
    }
    checked.push({ address: canonical, family: isIP(canonical) });
  }
  return checked;
}

/** A `net.connect` lookup that resolves through the guard at connect time (point 2). */
function guardedLookup(target: GuardTarget) {
  return (
    _hostname: string,
    options: { all?: boolean },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    resolveChecked(target).then(
      (addresses) => (options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family)),
      (err: Error) => callback(err, ''),
    );
  };
}

export interface ConnectOptions {
  /** Until connected (TLS included). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * A socket connected to `target` through all three checks (TLS when `target.tls`),
 * nothing written yet. Refusals are `transport_error`; a host that does not answer is
 * `source_unavailable` naming it.
 */
export async function connectGuarded(target: GuardTarget, options: ConnectOptions): Promise<Socket> {
  await resolveChecked(target); // point 1: a clear refusal before any connection is tried
  const host = normaliseHost(target.hostname);
  const literal = canonicalAddress(host);
  const where = `${host}:${target.port}`;
  return await new Promise<Socket>((resolve, reject) => {
    let socket: Socket;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('aborted'));
    const timer = setTimeout(
      () =>
        fail(sourceUnavailable(`host ${where} did not accept a connection within ${options.timeoutMs} ms`, { host, port: target.port })),
      options.timeoutMs,
    );
    const connected = () => {
      // Point 3: the address actually connected to, whatever any resolver said.
      const remote = socket.remoteAddress ?? '';
      if (!target.approved) {
        const why = refusalOf(remote);
        if (why) return fail(refused(target, canonicalAddress(remote) ?? remote, why, 'connected to'));
      }
      if (!target.tls) return done(socket);
      const secure = tlsConnect({ socket, servername: literal ? undefined : host });
      secure.once('secureConnect', () => done(secure));
      secure.once('error', (err) => fail(transportError(`TLS with ${where} failed: ${err.message}`, { host, port: target.port })));
    };
    const done = (s: Socket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(s); // our 'error' listener stays, inert once settled: the HTTP client adds its own on the next tick
    };
    socket = literal
      ? netConnect({ host: literal, port: target.port })
      : netConnect({ host, port: target.port, lookup: guardedLookup(target) as never });
    socket.once('connect', connected);
    socket.on('error', (err: Error & { code?: string }) => {
      if (err instanceof PlexusError) return fail(err); // a refusal from the guarded lookup
      fail(
        sourceUnavailable(`host ${where} is not answering (${err.code ?? err.message}): is the service running?`, {
          host,
          port: target.port,
        }),
      );
    });
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
