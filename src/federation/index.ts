/** Remote hubs mounted as children: by URL (`mountRemote`; `hub.unregister(name)` removes one) or by the remote joining (`joinParent` / `acceptJoins`). */
export { mountRemote, type MountOptions } from './mount.js';
export { RemoteHub, type RemoteHubOptions } from './remote-hub.js';
export { RemoteUnavailableError, REMOTE_UNAVAILABLE } from './remote-errors.js';
export { MountDialer, type DialOptions } from './dial.js';
export {
  acceptJoins,
  joinParent,
  JOIN_METHOD,
  DEFAULT_MAX_JOINS,
  type AcceptJoinsOptions,
  type JoinAcceptor,
  type JoinHandle,
  type JoinOptions,
} from './join.js';
export { JoinBindings, JOIN_BINDINGS_FILE, type JoinBinding } from './join-bindings.js';
export type { FlowLimits } from './remote-connection.js';
export {
  MountLimitError,
  DEFAULT_ATTACH_TIMEOUT_MS,
  DEFAULT_MAX_TREE_DEPTH,
  DEFAULT_MAX_TREE_NODES,
  DEFAULT_MAX_SCHEMA_BYTES,
  type MountLimits,
} from './mount-limits.js';
