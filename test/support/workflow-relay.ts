/**
 * A hub in required-auth mode with a `flow.check` workflow (an extension) whose
 * members ask their caller a question (`asker.confirm`) and then wait for the owner's
 * approval (`asker.run`, an execute member): what the workflow-relay tests attack on
 * each transport and through a mount.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExtensionHost } from '../../activations/extension/host.js';
import type { ExtensionManifest } from '../../activations/extension/manifest.js';
import { validateManifest } from '../../activations/extension/validate.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { type CallContext, DynamicHub, defineActivation } from '../../src/index.js';
import { eventually } from './helpers.js';

/** What the member heard: each answer it got, each refusal (the error its question ended with). */
export interface MemberLog {
  readonly answers: unknown[];
  readonly refusals: string[];
  /** How long the member's question waits (a test of the timeout shortens it). */
  timeoutMs: number;
}

export const FLOW: ExtensionManifest = {
  manifest: 'plexus-extension/0.1',
  source: 'flow',
  capabilities: [{ name: 'check', kind: 'workflow', describe: 'Asks, then runs', members: ['asker.confirm', 'asker.run'] }],
};

/** The grants a caller needs for the whole workflow (it runs its members under the caller's own). */
export const FLOW_GRANTS = ['flow.check:read', 'asker.confirm:read', 'asker.run:execute'];

/** What the workflow yields when the caller answers `true` and the owner approves the run. */
export const APPROVED_FLOW_ITEMS = [
  { member: 'asker.confirm', step: 0, data: 'heard true' },
  { member: 'asker.run', step: 1, data: 'ran' },
];

/** The member's question as an MCP client is asked it: the boolean answer wrapped as `{ value }`. */
export const ELICITED_CONFIRM = {
  message: 'Really?',
  schema: { type: 'object', properties: { value: { type: 'boolean' } }, required: ['value'] },
};

export function askerMember(log: MemberLog) {
  return defineActivation({
    namespace: 'asker',
    methods: {
      confirm: {
        description: 'Asks the caller to confirm, yields what it heard.',
        bidirectional: true,
        streaming: true,
        handler: async function* (_params, ctx: CallContext) {
          try {
            const answer = await ctx.request({ prompt: 'Really?', schema: { type: 'boolean' }, timeoutMs: log.timeoutMs });
            log.answers.push(answer);
            yield `heard ${answer}`;
          } catch (err) {
            log.refusals.push((err as Error).message);
            throw err;
          }
        },
      },
      run: { description: 'Runs something (execute).', verbs: ['execute'], handler: () => 'ran' },
    },
  });
}

export interface FlowHub {
  readonly hub: DynamicHub;
  readonly auth: HubAuth;
  readonly member: MemberLog;
  /** The bearer token of each caller named to `flowHub`. */
  readonly tokens: Record<string, string>;
  close(): void;
}

/**
 * A started hub named `root` with the member and the workflow, and a token for each of
 * `callers` (name → grants). The tokens exist before the hub's auth starts: that is what
 * puts it in required-auth mode, where execute calls wait for the owner's approval.
 */
export async function flowHub(root: string, callers: Record<string, readonly string[]>): Promise<FlowHub> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-workflow-relay-'));
  const store = new TokenStore(dir);
  const tokens = Object.fromEntries(
    Object.entries(callers).map(([name, grants]) => [
      name,
      store.create({ name, hub: root, grants: grants.map((g) => parseGrant(g)) }).token,
    ]),
  );
  const auth = new HubAuth({ hub: root, dataDir: dir, limiter: { burst: 1000 } });
  const member: MemberLog = { answers: [], refusals: [], timeoutMs: 2000 };
  const hub = new DynamicHub(root, { policy: auth }).register(askerMember(member));
  const host = new ExtensionHost(hub, { dataDir: dir, transport: { secrets: { get: () => undefined } }, pollMs: 50 });
  host.store.add(FLOW, validateManifest(FLOW).surface);
  await host.start();
  await eventually(() => hub.children().some((c) => c.namespace === 'flow'), 5000);
  return {
    hub,
    auth,
    member,
    tokens,
    close() {
      host.close();
      auth.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
