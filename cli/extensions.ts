import { ExtensionHost } from '../activations/extension/host.js';
import { type HubAuth, SecretStore } from '../src/auth/index.js';
import type { DynamicHub } from '../src/index.js';
import type { HubState } from './hub-state.js';

/** The data dir's installed extensions, registered in `hub` and followed while it runs. */
export async function startExtensions(
  hub: DynamicHub,
  state: HubState,
  auth: HubAuth,
  log: (line: string) => void,
): Promise<ExtensionHost> {
  const bash = state.settings.bash as { containment?: string; maxProcesses?: number; max_processes?: number } | undefined;
  const audit = auth.audit;
  const host = new ExtensionHost(hub, {
    dataDir: state.dataDir,
    transport: {
      secrets: new SecretStore(state.dataDir),
      ...(bash
        ? {
            processes: {
              ...(bash.containment ? { containment: bash.containment } : {}),
              ...(bash.max_processes ? { maxProcesses: bash.max_processes } : {}),
            },
          }
        : {}),
    },
    ...(audit ? { audit: (event) => void audit.append(event) } : {}),
    log,
  });
  await host.start();
  return host;
}
