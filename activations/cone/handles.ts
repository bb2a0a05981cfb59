import { handleDisplay, type Handle } from '../arbor/index.js';

/** cone's plugin id in handles: UUIDv5(NAMESPACE_OID, "cone@1"), as the reference computes it. */
export const CONE_PLUGIN_ID = '11429815-0a5e-5fcc-baf2-842ab3666e77';
/** bash's, whose handles become tool-output notes in the context. */
export const BASH_PLUGIN_ID = 'c425933b-2db7-5bb1-a608-9dd88143fce3';

/** `cone@1.0.0::chat:msg-<uuid>:<role>:<name>`: the handle of one stored message. */
export function messageHandle(messageId: string, role: 'user' | 'assistant', name: string): Handle {
  return { plugin_id: CONE_PLUGIN_ID, version: '1.0.0', method: 'chat', meta: [`msg-${messageId}`, role, name] };
}

/** The message id in a cone handle's meta (`msg-<uuid>` first), or undefined. */
export function messageIdOf(meta: readonly string[] | undefined): string | undefined {
  const first = meta?.[0];
  if (!first) return undefined;
  return first.startsWith('msg-') ? first.slice(4) : first;
}

export { handleDisplay };
