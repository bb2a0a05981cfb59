import { Option, InvalidArgumentError, type Command } from 'commander';
import {
  acceptJoins,
  DEFAULT_MAX_JOINS,
  type DynamicHub,
  JoinBindings,
  joinParent,
  type JoinAcceptor,
  type JoinHandle,
  mountRemote,
} from '../src/index.js';
import { positive } from './options.js';

/** `name=ws://host:port`, repeatable. */
function mountSpec(value: string, previous: [string, string][] = []): [string, string][] {
  const eq = value.indexOf('=');
  if (eq <= 0 || !/^wss?:\/\//.test(value.slice(eq + 1))) throw new InvalidArgumentError('expected name=ws://host:port');
  return [...previous, [value.slice(0, eq), value.slice(eq + 1)]];
}

/** Options to mount remote hubs by URL (`hub serve`, `hub mcp`). */
export function mountOptions(cmd: Command): Command {
  return cmd
    .option('--mount <name=url>', 'mount the hub at url as the child name (repeatable)', mountSpec)
    .option('--mount-token <token>', 'bearer token presented to mounted hubs')
    .option('--watch-ms <ms>', 'how often mounted hubs are asked for their root hash', positive, 2000)
    .option(
      '--reconnect-max-ms <ms>',
      'longest wait between reconnect attempts (mounts and --join; jittered exponential backoff)',
      positive,
      5000,
    )
    .option(
      '--mount-timeout-ms <ms>',
      'how long attaching a remote hub (its _info and tree) may take; also the longest start waits for a mount',
      positive,
      10_000,
    )
    .option('--mount-max-depth <n>', "levels of a remote hub's tree a mount accepts", positive, 16)
    .option('--mount-max-nodes <n>', "activations of a remote hub's tree a mount accepts", positive, 10_000)
    .option('--mount-max-schema-bytes <n>', "bytes of a remote hub's schemas a mount reads per tree", positive, 4 * 1024 * 1024);
}

/** The limits of every mount (dialled or joined), from the options above and --max-frame-bytes. */
function mountLimits(opts: Record<string, unknown>) {
  return {
    watchMs: opts.watchMs as number,
    attachTimeoutMs: opts.mountTimeoutMs as number,
    maxDepth: opts.mountMaxDepth as number,
    maxNodes: opts.mountMaxNodes as number,
    maxSchemaBytes: opts.mountMaxSchemaBytes as number,
    // A mounted (or joined) hub is pinged as a served connection is (`hub serve
    // --ping-interval`; `hub mcp` has no such flag and keeps the default 30 s).
    ...(opts.pingInterval !== undefined ? { pingIntervalMs: (opts.pingInterval as number) * 1000 } : {}),
  };
}

/** The options of `hub serve` for remote hubs: mount by URL, join a parent, accept joins. */
export function federationOptions(cmd: Command): Command {
  return mountOptions(cmd)
    .option('--join <url>', 'dial this parent hub and be mounted there (for a hub it cannot reach)')
    .option('--name <name>', 'the name to be mounted under with --join')
    .option('--parent-token <token>', "with --join: the token presented to the parent (--token is this hub's own stdio principal)")
    .addOption(
      new Option(
        '--allow-join',
        'let hubs that dial this one mount themselves (_join): with a token store, a token holding the grant _join.<name>; else --join-token',
      ),
    )
    .option('--join-token <token>', 'with --allow-join on a hub without a token store: the token a joining hub must present')
    .option('--max-joins <n>', 'with --allow-join: joined children at most', positive, DEFAULT_MAX_JOINS);
}

export interface Federation {
  /** For serveWebSocket's `takeOver` (set when --allow-join). */
  readonly acceptor?: JoinAcceptor;
  readonly join?: JoinHandle;
  close(): Promise<void>;
}

/** Mounts what `--mount` names (before the hub's first ready()). */
export function applyMounts(
  hub: DynamicHub,
  opts: Record<string, unknown>,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): void {
  const onState = (mount: string, state: 'up' | 'down' | 'refused', detail: string) =>
    log(`plexus-hub: mount ${mount} ${state === 'up' ? 'connected' : state === 'down' ? 'unavailable' : 'refused'} (${detail})`);
  for (const [name, url] of (opts.mount as [string, string][] | undefined) ?? []) {
    mountRemote(hub, name, url, {
      ...mountLimits(opts),
      // The link to a mounted hub takes the same frame limit as a served connection.
      ...(opts.maxFrameBytes !== undefined ? { maxFrameBytes: opts.maxFrameBytes as number } : {}),
      maxBackoffMs: opts.reconnectMaxMs as number,
      onState,
      ...(opts.mountToken ? { token: opts.mountToken as string } : {}),
    });
  }
}

/**
 * What decides joins, checked before the hub listens: a join is privileged (the joined
 * hub receives every call below its name), so it is never open to anyone. With a token
 * store the hub's auth decides (grant `_join.<name>`); without one, `--join-token`.
 */
export function checkJoinOptions(opts: Record<string, unknown>, authRequired: boolean): void {
  if (!opts.allowJoin) {
    if (opts.joinToken) throw new InvalidArgumentError('--join-token is only meaningful with --allow-join');
    return;
  }
  if (authRequired && opts.joinToken) {
    throw new InvalidArgumentError(
      '--join-token is for a hub without a token store: this hub requires auth, so a joining hub presents a hub token holding the grant _join.<name> (hub token create <name> --grant _join.<name>)',
    );
  }
  if (!authRequired && !opts.joinToken) {
    throw new InvalidArgumentError(
      '--allow-join needs --join-token <token> on a hub without a token store: otherwise any process that reaches the port could mount itself and receive calls (or create a token store and grant _join.<name>)',
    );
  }
}

/** Starts accepting joins and/or joining a parent, as the options say (`checkJoinOptions` first). `dataDir` holds the join bindings. */
export function startFederation(hub: DynamicHub, opts: Record<string, unknown>, log: (line: string) => void, dataDir: string): Federation {
  if (opts.join && !opts.name) throw new InvalidArgumentError('--join needs --name <name>');
  const acceptor = opts.allowJoin
    ? acceptJoins(hub, {
        ...mountLimits(opts),
        maxJoins: opts.maxJoins as number,
        bindings: JoinBindings.in(dataDir),
        ...(opts.joinToken ? { token: opts.joinToken as string } : {}),
        onJoin: (name, outcome, detail) => log(`plexus-hub: join ${name}: ${outcome}${detail ? ` (${detail})` : ''}`),
        onState: (mount, state, detail) => state === 'down' && log(`plexus-hub: joined hub ${mount} unavailable (${detail})`),
      })
    : undefined;
  const join = opts.join
    ? joinParent(hub, opts.join as string, {
        name: opts.name as string,
        maxBackoffMs: opts.reconnectMaxMs as number,
        // The link to the parent is a served connection too: the same frame limit and ping.
        maxFrameBytes: opts.maxFrameBytes as number,
        pingIntervalMs: (opts.pingInterval as number) * 1000,
        ...(opts.parentToken ? { token: opts.parentToken as string } : {}),
        onState: (state, detail) => log(`plexus-hub: ${state} ${state === 'joined' ? `${opts.join} as ${opts.name}` : detail}`),
      })
    : undefined;
  return {
    ...(acceptor ? { acceptor } : {}),
    ...(join ? { join } : {}),
    async close() {
      acceptor?.close();
      await join?.close();
    },
  };
}
