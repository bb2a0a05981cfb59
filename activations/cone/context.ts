import type { Node } from '../arbor/index.js';
import { ConeError } from './errors.js';
import { BASH_PLUGIN_ID, CONE_PLUGIN_ID, handleDisplay, messageIdOf } from './handles.js';
import type { LlmMessage } from './llm/types.js';
import type { StoredMessage } from './storage.js';

/**
 * The conversation on a path of arbor nodes (root first) as LLM messages, the
 * reference's way: a non-empty text node is a user message; a cone handle is the
 * stored message with its role; a bash handle and any other handle become a user
 * note naming it. The system prompt is not a message (it is sent separately).
 */
export function contextMessages(nodes: readonly Node[], lookup: (messageId: string) => StoredMessage | undefined): LlmMessage[] {
  const out: LlmMessage[] = [];
  for (const node of nodes) {
    if (node.data.type === 'text') {
      if (node.data.content !== '') out.push({ role: 'user', content: node.data.content });
      continue;
    }
    const handle = node.data.handle;
    if (handle.plugin_id === CONE_PLUGIN_ID) {
      const id = messageIdOf(handle.meta);
      const message = id === undefined ? undefined : lookup(id);
      if (!message) throw ConeError.notFound(`message:${id ?? '(no id in handle)'}`);
      out.push({ role: message.role === 'assistant' ? 'assistant' : 'user', content: message.content });
    } else if (handle.plugin_id === BASH_PLUGIN_ID) {
      out.push({ role: 'user', content: `[Tool output from bash: ${handle.meta?.[0] ?? ''}]` });
    } else {
      out.push({ role: 'user', content: `[External reference: ${handleDisplay(handle)}]` });
    }
  }
  return out;
}
