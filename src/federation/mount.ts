import { DynamicHub } from '../hub/dynamic-hub.js';
import { MountDialer, type DialOptions } from './dial.js';
import { RemoteHub, type RemoteHubOptions } from './remote-hub.js';

export interface MountOptions extends DialOptions, RemoteHubOptions {}

/**
 * Mounts the hub at `url` (`ws://host:port`) as the child `name` of `hub`: its tree
 * appears under `name.` for calls, schemas, hashes, MCP and codegen. Returns at once;
 * `await hub.ready()` waits for the first connection attempt. The mount keeps
 * reconnecting until `hub.unmount(name)`.
 */
export function mountRemote(hub: DynamicHub, name: string, url: string, options: MountOptions = {}): RemoteHub {
  if (!/^wss?:\/\//.test(url)) throw new TypeError(`Mount URL "${url}" must start with ws:// or wss://`);
  const remote = new RemoteHub(name, options);
  hub.register(remote);
  new MountDialer(remote, url, options).start();
  return remote;
}

declare module '../hub/dynamic-hub.js' {
  interface DynamicHub {
    /** Mounts a remote hub by URL under `name` (see `mountRemote`). */
    mount(name: string, url: string, options?: MountOptions): RemoteHub;
    /** Removes a mounted hub and stops reconnecting to it; false when `name` is no mount. */
    unmount(name: string): boolean;
  }
}

// The hub does not import federation (transports and clients sit above it); the
// public entry installs these two methods by importing this module.
DynamicHub.prototype.mount = function mount(this: DynamicHub, name: string, url: string, options?: MountOptions): RemoteHub {
  return mountRemote(this, name, url, options);
};
DynamicHub.prototype.unmount = function unmount(this: DynamicHub, name: string): boolean {
  const node = this.children().find((c) => c.namespace === name);
  if (!(node instanceof RemoteHub)) return false;
  node.close();
  return this.unregister(name);
};
