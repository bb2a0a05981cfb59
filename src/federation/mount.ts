import type { DynamicHub } from '../hub/dynamic-hub.js';
import { MountDialer, type DialOptions } from './dial.js';
import { RemoteHub, type RemoteHubOptions } from './remote-hub.js';

export interface MountOptions extends DialOptions, RemoteHubOptions {}

/**
 * Mounts the hub at `url` (`ws://host:port`) as the child `name` of `hub`: its tree
 * appears under `name.` for calls, schemas, hashes, MCP and codegen. Returns at once;
 * `await hub.ready()` waits for the first connection attempt. The mount keeps
 * reconnecting until it is removed: `hub.unregister(name)` closes it (`RemoteHub.close`).
 */
export function mountRemote(hub: DynamicHub, name: string, url: string, options: MountOptions = {}): RemoteHub {
  if (!/^wss?:\/\//.test(url)) throw new TypeError(`Mount URL "${url}" must start with ws:// or wss://`);
  const remote = new RemoteHub(name, options);
  hub.register(remote);
  new MountDialer(remote, url, options).start();
  return remote;
}
