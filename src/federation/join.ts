import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { SEGMENT_PATTERN } from '../activation/types.js';
import { Redial, type BackoffOptions } from '../client/backoff.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { DEFAULT_PING_INTERVAL_MS, Liveness } from '../transport/liveness.js';
import { RpcSession } from '../transport/rpc-session.js';
import { DEFAULT_MAX_FRAME_BYTES, type SessionLimits } from '../transport/types.js';
import { WebSocketSink } from '../transport/websocket-link.js';
import { ErrorCode } from '../wire/errors.js';
import { errorResponse, requestFrame, resultResponse, type RequestId } from '../wire/jsonrpc.js';
import { openSocket } from './dial.js';
import type { SocketLink } from './remote-connection.js';
import { JoinBindings, type JoinBinding } from './join-bindings.js';
import { RemoteHub, type RemoteHubOptions } from './remote-hub.js';

/**
 * The reverse mount. A hub that cannot be reached (behind NAT) dials its parent and
 * asks to be mounted; the parent needs no route to it. Protocol, on one WebSocket:
 *
 * 1. The child opens a WebSocket to the parent's ordinary port (credentials on the
 *    upgrade, as any client) and sends, as its **first frame**, the request
 *    `{"jsonrpc":"2.0","id":1,"method":"_join","params":{"name":"edge1","token":"…"}}`.
 * 2. The parent answers `{"jsonrpc":"2.0","id":1,"result":{"mounted":"edge1","parent":"<root>"}}`
 *    (or a JSON-RPC error, then closes with 1008), and from then on the roles are
 *    reversed: the parent sends requests (`_info`, `<child>.call`, `…_unsub`) and the
 *    child serves them with an ordinary `RpcSession` over its hub, exactly as if the
 *    parent had dialled it. Everything a forward mount does (relay, backpressure,
 *    cancel, hash watch) then runs unchanged.
 * 3. When the socket drops, the parent keeps the mount (calls fail fast with
 *    `remote_unavailable`) and the child dials again with jittered backoff; its next
 *    `_join` under the same name re-attaches the same mount.
 */
export const JOIN_METHOD = '_join';

export interface JoinOptions extends SessionLimits, BackoffOptions {
  /** The name to be mounted under at the parent. */
  readonly name: string;
  /** Presented on the upgrade (`Authorization: Bearer`) and in the `_join` params. */
  readonly token?: string;
  /** Bytes queued towards the parent above which this hub's producers pause (default 1 MiB). */
  readonly highWaterMark?: number;
  /** Largest frame accepted from the parent (default 1 MiB, as on a served connection); a bigger one closes the link with 1009. */
  readonly maxFrameBytes?: number;
  /**
   * This hub pings the parent this often; a parent that has not answered the previous
   * ping is dropped and dialled again (default 30 s, as on a served connection).
   */
  readonly pingIntervalMs?: number;
  /** Told about each joined connection and each loss, for logs. */
  readonly onState?: (state: 'joined' | 'lost' | 'refused', detail: string) => void;
}

export interface JoinHandle {
  /** Resolves on the first successful join. */
  readonly joined: Promise<void>;
  /** True while joined. */
  readonly connected: boolean;
  close(): Promise<void>;
}

/** The child side: dials the parent, joins, serves the hub over that socket, and re-joins after drops. */
export function joinParent(hub: DynamicHub, url: string, options: JoinOptions): JoinHandle {
  if (!SEGMENT_PATTERN.test(options.name))
    throw new TypeError(`Join name "${options.name}" is not a valid path segment: it must match ${SEGMENT_PATTERN.source}`);
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1)
    throw new RangeError(`maxFrameBytes must be a positive integer, not ${maxFrameBytes}`);
  let current: { ws: WebSocket; session?: RpcSession } | undefined;
  // The served connections' ping, for the one link; never idle: the parent decides when to leave.
  const sessions = new Map<WebSocket, RpcSession>();
  const liveness = new Liveness(Number.POSITIVE_INFINITY, options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, sessions);
  let markJoined!: () => void;
  const joined = new Promise<void>((r) => (markJoined = r));

  const dial = async (): Promise<void> => {
    if (redial.stopped) return;
    let link: SocketLink;
    try {
      link = await openSocket(url, {
        maxFrameBytes,
        ...(options.token ? { token: options.token } : {}),
      });
    } catch (err) {
      options.onState?.('lost', (err as Error).message);
      return redial.retry();
    }
    const { ws, socket } = link;
    const me: { ws: WebSocket; session?: RpcSession } = { ws };
    current = me;
    let sink: WebSocketSink | undefined;
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      sink?.closed();
      me.session?.close();
      liveness.forget(ws);
      sessions.delete(ws);
      if (current === me) current = undefined;
      if (me.session) options.onState?.('lost', `connection closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`);
      redial.retry();
    });
    ws.on('message', (data, isBinary) => {
      liveness.seen(ws);
      if (me.session) {
        if (isBinary) me.session.rejectBinary();
        else me.session.receive(data.toString());
        return;
      }
      // Before the answer to `_join`, the only frame expected is that answer.
      let answer: { id?: unknown; result?: unknown; error?: { code: number; message: string } };
      try {
        answer = JSON.parse(data.toString());
      } catch {
        return void ws.close(1002, 'expected the answer to _join');
      }
      if (answer.error) {
        options.onState?.('refused', `${answer.error.code}: ${answer.error.message}`);
        return void ws.close(1000, 'join refused');
      }
      sink = new WebSocketSink(ws, socket, options.highWaterMark ?? 1024 * 1024);
      me.session = new RpcSession(hub, sink, options);
      sessions.set(ws, me.session);
      liveness.watch(ws);
      redial.connected();
      options.onState?.('joined', url);
      markJoined();
    });
    ws.send(requestFrame(1, JOIN_METHOD, { name: options.name, ...(options.token ? { token: options.token } : {}) }));
  };
  const redial = new Redial(() => void dial(), options);

  void dial();
  return {
    joined,
    get connected() {
      return current?.session !== undefined;
    },
    async close() {
      redial.stop();
      liveness.stop();
      const c = current;
      if (!c) return;
      await c.session?.shutdown(0);
      await new Promise<void>((resolve) => {
        c.ws.once('close', () => resolve());
        c.ws.close(1001, 'Server shutting down');
      });
    },
  };
}

export interface AcceptJoinsOptions extends RemoteHubOptions {
  /**
   * When set, a `_join` must carry this token (`params.token`, compared in constant
   * time). Without a policy that decides joins (`HubPolicy.authorizeJoin`, which
   * `HubAuth` has in required mode), it is what keeps strangers out, and it is then
   * the credential a joined name is bound to.
   */
  readonly token?: string;
  /**
   * Accept joins from anyone who can reach the port, with neither a token nor a policy
   * that decides joins. Without it (or `token`, or such a policy) `acceptJoins` throws:
   * a joined hub receives every call below its name, params and all.
   */
  readonly allowAnyone?: boolean;
  /** Which credential owns each joined name (default: in memory, for the process's life); `JoinBindings.in(dataDir)` persists them. */
  readonly bindings?: JoinBindings;
  /** Joined children at most (default 64); a join under a new name past it is refused. Re-joins under a mounted name always pass. */
  readonly maxJoins?: number;
  /** Told about each join and refusal, for logs. */
  readonly onJoin?: (name: string, outcome: 'mounted' | 'remounted' | 'refused', detail?: string) => void;
}

/** Joined children a hub accepts by default (`--max-joins`). */
export const DEFAULT_MAX_JOINS = 64;
/** How often a joined link's right to be joined is asked again (a revoked token drops it). */
const JOIN_RECHECK_MS = 1000;
/** Longest join name: names are path segments, and this bounds what a refusal logs. */
export const MAX_JOIN_NAME_LENGTH = 64;

export interface JoinAcceptor {
  /** For `serveWebSocket({ takeOver })`: claims connections whose first frame is `_join`. */
  readonly takeOver: (
    firstFrame: string,
    req: IncomingMessage,
    principal: unknown,
  ) => ((ws: WebSocket, socket: Socket) => void) | undefined;
  /** The mounts made by joins, by name. */
  readonly mounts: ReadonlyMap<string, RemoteHub>;
  /** Who owns each joined name. */
  readonly bindings: JoinBindings;
  /** Unmounts every joined hub. */
  close(): void;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameSecret(a: string, b: string): boolean {
  // Hash first: timingSafeEqual needs equal lengths, and the length must not leak either.
  return timingSafeEqual(sha256(a), sha256(b));
}

/** A refusal: the JSON-RPC error the joining connection gets before it is closed. */
class JoinRefused extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The parent side: mounts hubs that join, under the name they ask for, over the socket
 * they dialled. A join is a privileged act, checked in this order: a valid name; the
 * join token, when there is one; the hub's policy (`authorizeJoin`: in required mode the
 * grant `_join.<name>`); the name is no local child; the name is free or bound to the
 * same credential; a new name fits under `maxJoins`. Every refusal is a JSON-RPC error
 * (code and message) and closes the connection (1008) before anything is sent to it;
 * every attempt is told to the policy's `observeJoin` (the audit log).
 */
export function acceptJoins(hub: DynamicHub, options: AcceptJoinsOptions = {}): JoinAcceptor {
  const policy = hub.policy;
  const authorize = policy?.authorizeJoin;
  if (options.token === undefined && !authorize && !options.allowAnyone) {
    throw new TypeError(
      'acceptJoins: nothing decides who may join, so anyone who reaches the port could mount itself and receive calls: ' +
        'pass a join token, give the hub a policy that authorizes joins (HubAuth in required mode), or allowAnyone: true',
    );
  }
  const maxJoins = options.maxJoins ?? DEFAULT_MAX_JOINS;
  if (!Number.isInteger(maxJoins) || maxJoins < 1) throw new RangeError(`maxJoins must be a positive integer, not ${maxJoins}`);
  const bindings = options.bindings ?? new JoinBindings();
  // In open mode every joiner presents the same join token: the name is bound to it (never stored itself).
  const tokenCredential =
    options.token !== undefined
      ? { id: `join-token:${sha256(options.token).toString('hex').slice(0, 16)}`, label: 'join token' }
      : { id: 'anyone', label: 'anyone (allowAnyone)' };
  const mounts = new Map<string, RemoteHub>();
  /** The connected joined links and who joined them: re-checked while they last. */
  const links = new Map<string, { readonly ws: WebSocket; readonly principal: unknown }>();

  const tell = (principal: unknown, name: string, outcome: 'mounted' | 'remounted' | 'refused', code?: number, reason?: string) => {
    try {
      policy?.observeJoin?.({
        principal,
        name,
        outcome,
        ...(code !== undefined ? { code } : {}),
        ...(reason !== undefined ? { reason } : {}),
      });
    } catch {
      /* an observer that throws must not decide the join */
    }
    options.onJoin?.(name, outcome, reason);
  };

  /** Every check but the socket's: returns the mount to attach to, or throws JoinRefused. */
  const admit = (params: Record<string, unknown>, principal: unknown): { mount: RemoteHub; again: boolean } => {
    const name = params.name;
    if (typeof name !== 'string' || name.length > MAX_JOIN_NAME_LENGTH || !SEGMENT_PATTERN.test(name)) {
      throw new JoinRefused(
        ErrorCode.InvalidParams,
        `Invalid params: "name" must be a path segment matching ${SEGMENT_PATTERN.source}, at most ${MAX_JOIN_NAME_LENGTH} characters`,
      );
    }
    if (options.token !== undefined && (typeof params.token !== 'string' || !sameSecret(params.token, options.token))) {
      throw new JoinRefused(ErrorCode.AuthenticationRequired, 'Join refused: a valid join token is required');
    }
    let credential = tokenCredential;
    if (authorize) {
      try {
        credential = authorize(principal, name);
      } catch (err) {
        const e = err as { code?: unknown; message?: string };
        throw new JoinRefused(typeof e.code === 'number' ? e.code : ErrorCode.Forbidden, e.message ?? 'Join refused');
      }
    }
    const existing = hub.children().find((c) => c.namespace === name);
    let mount = mounts.get(name);
    if (existing && existing !== mount)
      throw new JoinRefused(ErrorCode.Forbidden, `Join refused: "${name}" is already a child of ${hub.namespace}`);
    if (!mount && mounts.size >= maxJoins) {
      throw new JoinRefused(
        ErrorCode.Forbidden,
        `Join refused: this hub already has ${mounts.size} joined children (the limit is ${maxJoins}: --max-joins)`,
      );
    }
    let bound: JoinBinding;
    try {
      bound = bindings.bind(name, credential);
    } catch (err) {
      throw new JoinRefused(ErrorCode.InternalError, `Join refused: the join bindings cannot be read: ${(err as Error).message}`);
    }
    if (bound.credential !== credential.id) {
      throw new JoinRefused(
        ErrorCode.Forbidden,
        `Join refused: "${name}" is bound to another credential (since ${bound.boundAt}); \`hub join release ${name}\` frees it`,
      );
    }
    const again = mount !== undefined;
    if (!mount) {
      mount = new RemoteHub(name, options);
      mounts.set(name, mount);
      hub.register(mount);
    }
    return { mount, again };
  };

  const adopt =
    (id: RequestId, params: Record<string, unknown>, principal: unknown) =>
    (ws: WebSocket, socket: Socket): void => {
      const shown = typeof params.name === 'string' ? params.name.slice(0, MAX_JOIN_NAME_LENGTH) : String(params.name).slice(0, 32);
      let admitted: { mount: RemoteHub; again: boolean };
      try {
        admitted = admit(params, principal);
      } catch (err) {
        const { code, message } =
          err instanceof JoinRefused ? err : { code: ErrorCode.InternalError, message: 'Join refused: internal error' };
        tell(principal, shown, 'refused', code, message);
        ws.send(errorResponse(id, { code, message }));
        return void ws.close(1008, message.slice(0, 120));
      }
      const { mount, again } = admitted;
      // Told (and audited) as admitted here, where it was decided: whether the child then answers is its business.
      tell(principal, shown, again ? 'remounted' : 'mounted');
      ws.send(resultResponse(id, { mounted: shown, parent: hub.namespace }));
      links.set(shown, { ws, principal });
      ws.once('close', () => {
        if (links.get(shown)?.ws === ws) links.delete(shown);
      });
      mount.attach({ ws, socket }).catch((err: Error) => options.onJoin?.(shown, 'refused', err.message));
    };

  // A join is decided once, but the right to it can end (token revoked or expired, grant
  // removed): a link whose joiner may no longer join is dropped, as a revoked caller's
  // calls are refused, within about a second. Its re-join is then refused.
  const recheck = authorize
    ? setInterval(() => {
        for (const [name, link] of links) {
          try {
            authorize(link.principal, name);
          } catch (err) {
            links.delete(name);
            const e = err as { code?: unknown; message?: string };
            const message = `Join withdrawn: ${(e.message ?? 'no longer allowed').replace(/^Join refused: /, '')}`;
            tell(link.principal, name, 'refused', typeof e.code === 'number' ? e.code : ErrorCode.Forbidden, message);
            link.ws.close(1008, message.slice(0, 120));
          }
        }
      }, JOIN_RECHECK_MS)
    : undefined;
  recheck?.unref();

  return {
    mounts,
    bindings,
    takeOver(firstFrame, _req, principal) {
      // Cheap test first: every connection's first frame passes here.
      if (!firstFrame.includes(JOIN_METHOD)) return undefined;
      let msg: { method?: unknown; id?: unknown; params?: unknown };
      try {
        msg = JSON.parse(firstFrame);
      } catch {
        return undefined;
      }
      if (msg.method !== JOIN_METHOD) return undefined;
      const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? msg.id : null;
      const params =
        typeof msg.params === 'object' && msg.params !== null && !Array.isArray(msg.params) ? (msg.params as Record<string, unknown>) : {};
      return adopt(id, params, principal);
    },
    close() {
      clearInterval(recheck);
      for (const m of mounts.values()) m.close();
    },
  };
}
