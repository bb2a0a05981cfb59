import type { Handle } from '../arbor/index.js';

/** claudecode's plugin id in handles: UUIDv5(NAMESPACE_OID, "claudecode@1"), as the reference computes it. */
export const CLAUDECODE_PLUGIN_ID = '51b330e5-ed88-5fe2-8b58-0c57f2b02ab3';

/** The arbor handle of a stored chat message; arbor's `tree_render` asks claudecode to resolve it. */
export function messageHandle(messageId: string, role: string, name: string): Handle {
  return { plugin_id: CLAUDECODE_PLUGIN_ID, version: '1.0.0', method: 'chat', meta: [`msg-${messageId}`, role, name] };
}
