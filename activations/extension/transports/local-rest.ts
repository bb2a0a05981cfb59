/**
 * The `local-rest` transport: a capability answered by an HTTP service, by default
 * on this machine. The route's URL and body are filled from the params, the named
 * secret is attached at dispatch, and the answer is streamed as items (JSON: the
 * value, or one item per element of an array; SSE: one `RestEvent` per event). The
 * SSRF guard (address-guard.ts) keeps it on loopback unless the install approved the
 * host, and no redirect leaves the origin. A secret's value never leaves this module:
 * every item, message and detail is scrubbed of it. The only reader of a `local-rest`
 * route. See docs/extensions-transports.md.
 */
import { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { PlexusError } from '../../../src/index.js';
import { ExtensionErrorCode, type ExtensionTransport, type SourceHealth, type TransportOptions } from '../types.js';
import { canonicalAddress, connectGuarded, type GuardTarget, normaliseHost, refusalOf } from './address-guard.js';
import { checkLimit, invalidRoute, isRecord, sourceUnavailable, transportError } from './errors.js';
import { fillTemplate, isAbsent, placeholdersIn, wholePlaceholder } from './placeholders.js';
import { Scrubber } from './scrub.js';

/** How the named secret travels: `Authorization: Bearer <value>`, or the value alone in a header. */
export type SecretAttach = 'bearer' | { header: string };

/** A `local-rest` route, as a manifest declares it. */
export interface LocalRestRoute {
  /** `http://127.0.0.1:8080` (a path prefix allowed); another host only when listed in `allowedHosts` and approved. */
  baseUrl: string;
  /** GET, HEAD, POST, PUT, PATCH or DELETE (any case). */
  method: string;
  /** `/notes/{id}?tag={tag}`: placeholders URL-encoded; a query pair whose param is absent is left out. */
  pathTemplate: string;
  /** A JSON body template: `"{p}"` is the param with its JSON type, `"a {p}"` text; members with absent params are left out. */
  body?: unknown;
  /** The secret (declared in the manifest's `secrets`) attached to every request. */
  secret?: { name: string; attach: SecretAttach };
  /** Hosts other than loopback this route may reach, each approved by the owner at install. */
  allowedHosts?: string[];
  /** The longest wait for the answer to start, and then between two chunks of it (default 30000). */
  timeoutMs?: number;
  /** Bytes of one answer's body (default 1 MiB; past it the call fails). */
  maxResponseBytes?: number;
  /** A GET route whose 2xx says the service is healthy (default: a TCP connect to the host). */
  healthPath?: string;
}

/** One item of an SSE answer (`text/event-stream`): one per event. */
export interface RestEvent {
  /** The event's type (`message` when the service named none). */
  event: string;
  /** The event's data, parsed when it is JSON, else the text. */
  data: unknown;
  id?: string;
}

/** The one item of an answer that is neither JSON nor SSE. */
export interface RestText {
  contentType: string;
  text: string;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_RESPONSE = 1024 * 1024;
const MAX_RESPONSE = 256 * 1024 * 1024;
const HEALTH_TIMEOUT_MS = 3000;
const MAX_REDIRECTS = 5;
/** How much of an error body is kept in details, and quoted in the message. */
const ERROR_BODY_BYTES = 4096;
const QUOTE_CHARS = 200;
/** Header names a secret may not be attached as: the HTTP framing is ours. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'content-type',
  'accept',
  'upgrade',
  'te',
  'trailer',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `localhost` and its subdomains resolve to loopback by convention; checked at dispatch all the same. */
const isLoopbackName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** A host that needs no approval: a loopback literal or a loopback name. */
function isLoopbackHost(host: string): boolean {
  return isLoopbackName(host) || (canonicalAddress(host) !== undefined && refusalOf(host) === undefined);
}

function parseRoute(route: unknown, declaredSecrets?: readonly { name: string }[]): { route?: LocalRestRoute; reasons: string[] } {
  if (!isRecord(route)) return { reasons: ['a local-rest route must be an object { baseUrl, method, pathTemplate, … }'] };
  const reasons: string[] = [];
  const known = ['baseUrl', 'method', 'pathTemplate', 'body', 'secret', 'allowedHosts', 'timeoutMs', 'maxResponseBytes', 'healthPath'];
  for (const key of Object.keys(route))
    if (!known.includes(key)) reasons.push(`route.${key} is not a local-rest route field (${known.join(', ')})`);
  const allowed: string[] = [];
  if (route.allowedHosts !== undefined) {
    if (!Array.isArray(route.allowedHosts)) reasons.push('route.allowedHosts must be an array of host names');
    else
      for (const [i, h] of route.allowedHosts.entries()) {
        if (typeof h !== 'string' || h === '' || (/[/:@?#\s]/.test(normaliseHost(h)) && canonicalAddress(h) === undefined))
          reasons.push(`route.allowedHosts[${i}] must be a bare host name or address (no scheme, port or path)`);
        else allowed.push(normaliseHost(h));
      }
  }
  let base: URL | undefined;
  if (typeof route.baseUrl !== 'string') reasons.push('route.baseUrl must be a URL string, e.g. "http://127.0.0.1:8080"');
  else {
    try {
      base = new URL(route.baseUrl);
    } catch {
      reasons.push(`route.baseUrl '${route.baseUrl}' is not a URL`);
    }
  }
  if (base) {
    const host = normaliseHost(base.hostname);
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      reasons.push(`route.baseUrl must be http: or https:, not ${base.protocol}`);
    else if (base.username || base.password)
      reasons.push('route.baseUrl must not carry credentials: declare a secret and attach it (route.secret)');
    else if (base.search || base.hash)
      reasons.push('route.baseUrl must not carry a query or fragment: put the query in route.pathTemplate');
    // A name is checked when it is resolved (dispatch): unless approved, it must resolve to loopback only.
    else if (canonicalAddress(host) !== undefined && refusalOf(host) !== undefined && !allowed.includes(host))
      reasons.push(
        `route.baseUrl's host '${host}' is ${refusalOf(host)}: list it in route.allowedHosts, which the owner approves at install`,
      );
  }
  const method = typeof route.method === 'string' ? route.method.toUpperCase() : undefined;
  if (!method || !METHODS.includes(method)) reasons.push(`route.method must be one of ${METHODS.join(', ')}`);
  if (typeof route.pathTemplate !== 'string' || !route.pathTemplate.startsWith('/'))
    reasons.push('route.pathTemplate must be a string starting with "/", e.g. "/notes/{id}"');
  else if (/[\s#\0]/.test(route.pathTemplate)) reasons.push('route.pathTemplate must not hold whitespace, "#" or NUL');
  if (route.body !== undefined && (method === 'GET' || method === 'HEAD'))
    reasons.push(`route.body is set but a ${method} request has no body`);
  if (route.secret !== undefined) {
    const secret = route.secret;
    if (!isRecord(secret) || typeof secret.name !== 'string' || secret.name === '')
      reasons.push("route.secret must be { name, attach: 'bearer' | { header } }");
    else {
      if (declaredSecrets && !declaredSecrets.some((s) => s.name === secret.name))
        reasons.push(`route.secret.name '${secret.name}' is not declared in the manifest's secrets`);
      const attach = secret.attach;
      if (attach !== 'bearer') {
        if (!isRecord(attach) || typeof attach.header !== 'string' || !HEADER_NAME.test(attach.header))
          reasons.push("route.secret.attach must be 'bearer' or { header: '<header name>' }");
        else if (RESERVED_HEADERS.has(attach.header.toLowerCase()))
          reasons.push(
            `route.secret.attach.header '${attach.header}' is a header the transport sets itself; name another (e.g. 'X-Api-Key')`,
          );
      }
    }
  }
  if (
    route.healthPath !== undefined &&
    (typeof route.healthPath !== 'string' || !route.healthPath.startsWith('/') || /[\s#\0]/.test(route.healthPath))
  )
    reasons.push('route.healthPath must be a path starting with "/", e.g. "/health"');
  for (const problem of [
    checkLimit('timeoutMs', route.timeoutMs, MAX_TIMEOUT_MS),
    checkLimit('maxResponseBytes', route.maxResponseBytes, MAX_RESPONSE),
  ])
    if (problem) reasons.push(problem);
  return reasons.length ? { reasons } : { route: { ...(route as unknown as LocalRestRoute), method: method! }, reasons: [] };
}

/** Problems with a `local-rest` route, as a person can act on them; empty when valid. */
export function checkRoute(route: unknown, manifest: { secrets?: readonly { name: string }[] } = {}): { reasons: string[] } {
  return { reasons: parseRoute(route, manifest.secrets ?? []).reasons };
}

/**
 * The host beyond loopback this route may reach (for the install's approval surface):
 * the baseUrl's host when the route lists it in `allowedHosts`. Any other host is
 * reached only on loopback addresses, checked as it is resolved.
 */
export function approvalSurface(route: unknown): { bins?: string[]; hosts?: string[] } {
  if (!isRecord(route) || typeof route.baseUrl !== 'string' || !Array.isArray(route.allowedHosts)) return {};
  try {
    const host = normaliseHost(new URL(route.baseUrl).hostname);
    const listed = route.allowedHosts.some((h) => typeof h === 'string' && normaliseHost(h) === host);
    return listed && !isLoopbackHost(host) ? { hosts: [host] } : {};
  } catch {
    return {};
  }
}

/** The placeholder names a route uses (path and body), for the manifest model's check against `io.input`. */
export function routePlaceholders(route: LocalRestRoute): string[] {
  const names = placeholdersIn(route.pathTemplate);
  const walk = (v: unknown): void => {
    if (typeof v === 'string') names.push(...placeholdersIn(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isRecord(v)) Object.values(v).forEach(walk);
  };
  walk(route.body);
  return [...new Set(names)];
}

const invalidParam = (message: string, param?: string) =>
  new PlexusError(ExtensionErrorCode.SchemaValidationFailed, message, false, param ? { param } : undefined);

/**
 * The path and query from the template: each placeholder URL-encoded (a `/` in a value
 * stays inside its segment). Every path placeholder is required, and a value of `.`
 * or `..` is refused (the URL would climb out of the route's path); in the query, a
 * `key={p}` pair whose param is absent is left out.
 */
export function fillPath(template: string, params: Record<string, unknown>): string {
  const [path, query] = splitOnce(template, '?');
  const filledPath = fillTemplate(path, params, 'a URL path', (text, name) => {
    if (text === '.' || text === '..')
      throw invalidParam(`param '${name}' is '${text}': a path segment may not climb the route's path`, name);
    return encodeURIComponent(text);
  });
  if (filledPath === undefined) {
    const missing = placeholdersIn(path).find((name) => isAbsent(params[name]));
    throw invalidParam(`param '${missing}' is required: the route's path uses it`, missing);
  }
  if (query === undefined) return filledPath;
  const pairs = query
    .split('&')
    .map((pair) => fillTemplate(pair, params, 'a URL query', (text) => encodeURIComponent(text)))
    .filter((pair): pair is string => pair !== undefined && pair !== '');
  return pairs.length ? `${filledPath}?${pairs.join('&')}` : filledPath;
}

function splitOnce(text: string, sep: string): [string, string | undefined] {
  const i = text.indexOf(sep);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

const OMIT = Symbol('omit');

/**
 * The body from its JSON template: a string that is exactly `"{p}"` becomes the
 * param's value with its JSON type; other strings have their placeholders filled as
 * text. An object member or array entry whose params are absent is left out.
 */
export function fillBody(template: unknown, params: Record<string, unknown>): unknown {
  const fill = (t: unknown): unknown => {
    if (typeof t === 'string') {
      const whole = wholePlaceholder(t);
      if (whole !== undefined) return isAbsent(params[whole]) ? OMIT : params[whole];
      return fillTemplate(t, params, 'a body text', (text) => text) ?? OMIT;
    }
    if (Array.isArray(t)) return t.map(fill).filter((v) => v !== OMIT);
    if (isRecord(t)) return Object.fromEntries(Object.entries(t).flatMap(([k, v]) => ((v = fill(v)) === OMIT ? [] : [[k, v]])));
    return t;
  };
  const body = fill(template);
  return body === OMIT ? undefined : body;
}

/** One exchange's timer: the wait for the answer, then between two chunks of it. */
class Idle {
  #timer: NodeJS.Timeout | undefined;
  constructor(
    readonly ms: number,
    readonly onFire: () => void,
  ) {}
  arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.onFire, this.ms);
  }
  clear(): void {
    clearTimeout(this.#timer);
  }
}

interface Exchange {
  readonly req: ClientRequest;
  readonly res: IncomingMessage;
  /** Reads the body chunk by chunk, the idle timer and the size cap applied. */
  chunks(): AsyncGenerator<Buffer>;
  /** Frees the socket (an early end, a redirect, a failure). */
  close(): void;
}

interface SendOptions {
  readonly approved: boolean;
  readonly resolver?: TransportOptions['resolver'];
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

/** One HTTP request over a guarded connection (address-guard.ts), up to its response headers. */
async function send(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  body: string | undefined,
  opts: SendOptions,
): Promise<Exchange> {
  const target: GuardTarget = {
    hostname: url.hostname,
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    tls: url.protocol === 'https:',
    approved: opts.approved,
    ...(opts.resolver ? { resolver: opts.resolver } : {}),
  };
  const where = `${normaliseHost(url.hostname)}:${target.port}`;
  let res: IncomingMessage | undefined;
  let stalled = false;
  const idle = new Idle(opts.timeoutMs, () => {
    stalled = true;
    const err = transportError(
      res ? `the answer from ${where} stalled for more than ${opts.timeoutMs} ms` : `${where} did not answer within ${opts.timeoutMs} ms`,
      { host: normaliseHost(url.hostname), timeoutMs: opts.timeoutMs },
      true,
    );
    if (res) res.destroy(err);
    else req.destroy(err);
  });
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request(url, {
    method,
    headers,
    ...(opts.signal ? { signal: opts.signal } : {}),
    // The connection is made (and checked) before the client writes a byte: headers carry the secret.
    createConnection: ((_: unknown, done: (err: Error | null, socket?: unknown) => void) => {
      connectGuarded(target, { timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) }).then(
        (socket) => done(null, socket),
        (err: Error) => done(err),
      );
      return undefined;
    }) as never,
  });
  idle.arm();
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
      req.end(body);
    });
  } catch (err) {
    idle.clear();
    throw err;
  }
  const response = res;
  req.on('error', () => {}); // later errors surface through the response stream
  let bytes = 0;
  return {
    req,
    res: response,
    async *chunks() {
      try {
        idle.arm();
        for await (const chunk of response as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > opts.maxBytes)
            throw transportError(
              `the answer from ${where} exceeded ${opts.maxBytes} bytes (route.maxResponseBytes): the rest was discarded`,
              {
                host: normaliseHost(url.hostname),
                maxResponseBytes: opts.maxBytes,
              },
            );
          idle.arm();
          yield chunk;
        }
      } catch (err) {
        if (stalled && !(err instanceof PlexusError))
          throw transportError(`the answer from ${where} stalled for more than ${opts.timeoutMs} ms`, {}, true);
        throw err;
      } finally {
        idle.clear();
      }
    },
    close() {
      idle.clear();
      response.destroy();
      req.destroy();
    },
  };
}

/** Up to `max` bytes of the body as text (for an error body), the rest dropped. */
async function readSome(exchange: Exchange, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of exchange.chunks()) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch {
    // An error body that breaks off is still worth quoting as far as it came.
  }
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}

const quote = (text: string) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat;
};

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

interface Prepared {
  route: LocalRestRoute;
  scrubber: Scrubber;
  headers: OutgoingHttpHeaders;
  send: SendOptions;
}

/** The route checked, the secret looked up and attached, the send options set. */
function prepare(routeIn: unknown, opts: TransportOptions, timeoutMs?: number): Prepared {
  const parsed = parseRoute(routeIn);
  if (!parsed.route) throw invalidRoute('local-rest', parsed.reasons);
  const route = parsed.route;
  const headers: OutgoingHttpHeaders = { 'user-agent': 'plexus-hub', accept: 'application/json, text/event-stream;q=0.9, */*;q=0.5' };
  const secrets: string[] = [];
  if (route.secret) {
    const value = opts.secrets.get(route.secret.name);
    if (value === undefined || value === '')
      throw sourceUnavailable(`secret '${route.secret.name}' is not set: the owner sets it with \`hub secret set ${route.secret.name}\``, {
        secret: route.secret.name,
      });
    // A line break would end the header and start another (header injection); Node refuses it too, less clearly.
    if (/[\r\n\0]/.test(value))
      throw sourceUnavailable(`secret '${route.secret.name}' holds a line break or NUL: it cannot travel in an HTTP header`, {
        secret: route.secret.name,
      });
    secrets.push(value);
    if (route.secret.attach === 'bearer') headers.authorization = `Bearer ${value}`;
    else headers[route.secret.attach.header.toLowerCase()] = value;
  }
  const host = normaliseHost(new URL(route.baseUrl).hostname);
  return {
    route,
    scrubber: new Scrubber(secrets),
    headers,
    send: {
      approved: opts.approvedHosts.some((h) => normaliseHost(h) === host),
      ...(opts.resolver ? { resolver: opts.resolver } : {}),
      timeoutMs: timeoutMs ?? route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxBytes: route.maxResponseBytes ?? DEFAULT_MAX_RESPONSE,
    },
  };
}

/** `baseUrl` (its path a prefix) joined with a filled path; never another origin. */
function urlOf(route: LocalRestRoute, path: string): URL {
  const base = new URL(route.baseUrl);
  const url = new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`);
  if (url.origin !== base.origin) throw transportError(`the filled path leaves ${base.origin}`, { origin: base.origin });
  return url;
}

/** A scrubbed copy of any error, with the transport's codes (unknown errors become `transport_error`). */
function scrubbed(err: unknown, scrubber: Scrubber, what: string): PlexusError {
  if (err instanceof PlexusError)
    return new PlexusError(err.code, scrubber.text(err.message), err.recoverable, scrubber.value(err.details));
  const message = err instanceof Error ? err.message : String(err);
  return transportError(scrubber.text(`${what} failed: ${message}`));
}

/**
 * Sends the request the route and params make, follows redirects within the origin,
 * and yields the answer: a JSON array one item per element, other JSON one item,
 * `text/event-stream` one `RestEvent` per event as it arrives, anything else one
 * `RestText`, an empty body nothing. A non-2xx answer, a redirect to another host, a
 * timeout or the size cap fail the call with `transport_error` (status and the
 * scrubbed body in details); a host that does not answer is `source_unavailable`.
 */
export async function* dispatch(
  routeIn: unknown,
  params: Record<string, unknown>,
  opts: TransportOptions & { signal: AbortSignal },
): AsyncGenerator<unknown, void, undefined> {
  const { route, scrubber, headers, send: sendOptions } = prepare(routeIn, opts);
  let url = urlOf(route, fillPath(route.pathTemplate, params));
  let method = route.method;
  const bodyValue = route.body === undefined ? undefined : fillBody(route.body, params);
  let body = bodyValue === undefined ? undefined : JSON.stringify(bodyValue);
  let exchange: Exchange | undefined;
  const what = () => `${method} ${url.origin}${url.pathname}`;
  try {
    for (let hop = 0; ; hop++) {
      const hopHeaders = { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
      exchange = await send(url, method, hopHeaders, body, { ...sendOptions, signal: opts.signal });
      const status = exchange.res.statusCode ?? 0;
      const location = exchange.res.headers.location;
      if (![301, 302, 303, 307, 308].includes(status) || !location) break;
      exchange.close();
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw transportError(`${what()} redirected to an invalid location`, { status });
      }
      if (next.origin !== url.origin)
        throw transportError(
          `${what()} redirected to another host (${next.origin}): the transport follows redirects only within ${url.origin}`,
          { status, location: next.origin, refused: 'cross_host_redirect' },
        );
      if (hop + 1 >= MAX_REDIRECTS) throw transportError(`${what()} redirected more than ${MAX_REDIRECTS} times`, { status });
      if (status === 303 || ((status === 301 || status === 302) && method !== 'GET' && method !== 'HEAD')) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
    const { res } = exchange;
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const text = scrubber.text(await readSome(exchange, ERROR_BODY_BYTES));
      const quoted = quote(text);
      throw transportError(
        `${what()} answered ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${quoted ? `: ${quoted}` : ''}`,
        { status, body: parseJsonOr(text) },
        status === 429 || status >= 500,
      );
    }
    const contentType = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType === 'text/event-stream') {
      yield* events(exchange, scrubber);
      return;
    }
    const parts: Buffer[] = [];
    for await (const chunk of exchange.chunks()) parts.push(chunk);
    const text = Buffer.concat(parts).toString('utf8');
    if (text === '' || method === 'HEAD') return;
    if (contentType === 'application/json' || contentType.endsWith('+json')) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw transportError(`${what()} answered invalid JSON: ${quote(scrubber.text(text))}`, { status });
      }
      value = scrubber.value(value);
      if (Array.isArray(value)) yield* value;
      else yield value;
      return;
    }
    yield { contentType: contentType || 'application/octet-stream', text: scrubber.text(text) } satisfies RestText;
  } catch (err) {
    if (opts.signal.aborted) return;
    throw scrubbed(err, scrubber, what());
  } finally {
    exchange?.close();
  }
}

/** The SSE body as `RestEvent`s, each yielded as soon as its event is complete. */
async function* events(exchange: Exchange, scrubber: Scrubber): AsyncGenerator<RestEvent> {
  const ready: RestEvent[] = [];
  const parser = createParser({
    onEvent(e: EventSourceMessage) {
      ready.push(scrubber.value({ event: e.event ?? 'message', data: parseJsonOr(e.data), ...(e.id ? { id: e.id } : {}) }));
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of exchange.chunks()) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield* ready.splice(0);
  }
  parser.feed(decoder.decode());
  parser.reset({ consume: true });
  yield* ready.splice(0);
}

/**
 * `ok` when the declared `healthPath` answers 2xx (`degraded` on another status), or
 * without one when the host accepts a TCP connection; `unavailable` naming the host
 * (or the missing secret, or the guard's refusal) otherwise.
 */
export async function health(routeIn: unknown, opts: TransportOptions): Promise<SourceHealth> {
  let prepared: Prepared;
  try {
    prepared = prepare(routeIn, opts, HEALTH_TIMEOUT_MS);
  } catch (err) {
    return { status: 'unavailable', detail: (err as Error).message };
  }
  const { route, scrubber, headers, send: sendOptions } = prepared;
  const base = new URL(route.baseUrl);
  const where = `${normaliseHost(base.hostname)}:${Number(base.port) || (base.protocol === 'https:' ? 443 : 80)}`;
  const signal = AbortSignal.timeout(HEALTH_TIMEOUT_MS * 2);
  try {
    if (!route.healthPath) {
      const socket = await connectGuarded(
        {
          hostname: base.hostname,
          port: Number(base.port) || (base.protocol === 'https:' ? 443 : 80),
          tls: false,
          approved: sendOptions.approved,
          ...(sendOptions.resolver ? { resolver: sendOptions.resolver } : {}),
        },
        { timeoutMs: HEALTH_TIMEOUT_MS, signal },
      );
      socket.destroy();
      return { status: 'ok', detail: `host ${where} accepts connections` };
    }
    const url = urlOf(route, route.healthPath);
    const exchange = await send(url, 'GET', headers, undefined, { ...sendOptions, signal });
    const status = exchange.res.statusCode ?? 0;
    exchange.close();
    return status >= 200 && status <= 299
      ? { status: 'ok', detail: `GET ${url.pathname} on ${where} answered ${status}` }
      : { status: 'degraded', detail: `GET ${url.pathname} on ${where} answered ${status}` };
  } catch (err) {
    const message = scrubbed(err, scrubber, `health check of ${where}`).message;
    return {
      status: 'unavailable',
      detail: message.includes(where) || message.includes(normaliseHost(base.hostname)) ? message : `${where}: ${message}`,
    };
  }
}

/** This module keeps the shape every transport module has. */
export const localRestTransport = { checkRoute, approvalSurface, health, dispatch } satisfies ExtensionTransport;
