import { builtinActivations } from '../activations/index.js';
import { createOptional, type OptionalSet } from '../activations/optional.js';
import type { HubAuth } from '../src/auth/index.js';
import { DynamicHub, type NodeHealth } from '../src/index.js';
import { applyMounts } from './federation-options.js';
import type { HubState } from './hub-state.js';
import { loadActivations } from './load-modules.js';

/** The opt-in activations the state names, over `<data dir>/hub.db`; none asked for, none opened. */
export async function optionalSet(state: HubState): Promise<OptionalSet | undefined> {
  return state.with.length > 0 ? createOptional(state.with, state.dataDir, state.settings) : undefined;
}

/** The hub a command serves: built-ins, opt-ins, the modules' activations and `--mount`s, ready and started. */
export async function buildHub(
  modules: readonly string[],
  root: string,
  builtins: boolean,
  optional?: OptionalSet,
  auth?: HubAuth,
  opts: Record<string, unknown> = {},
): Promise<DynamicHub> {
  const hub = new DynamicHub(root, auth ? { policy: auth } : {});
  // health.check reports the nodes that have a health of their own (installed extensions).
  if (builtins) hub.register(...builtinActivations({ health: { sources: () => reportedHealth(hub) } }));
  if (optional) hub.register(...optional.activations);
  hub.register(...(await loadActivations(modules)));
  applyMounts(hub, opts);
  await hub.ready();
  await optional?.start(hub);
  return hub;
}

/** The health of each top-level node that reports one, by name. */
function reportedHealth(hub: DynamicHub): Record<string, NodeHealth> {
  const found: Record<string, NodeHealth> = {};
  for (const node of hub.children()) {
    const health = node.health?.();
    if (health) found[node.namespace] = health;
  }
  return found;
}
