import type { ClaudeMessage, ContentBlock, NodeEvent } from './types.js';

/**
 * Rebuilds Claude API messages from a path of turn nodes (as the reference's
 * `render_context` does): `user_message` starts a user message, `assistant_start`
 * an assistant one, `content_*` append blocks, a `user_tool_result` becomes its own
 * user message, `assistant_complete` closes the assistant message. Launch commands
 * and stderr lines are bookkeeping and render nothing.
 */
export function renderMessages(events: readonly NodeEvent[]): ClaudeMessage[] {
  const messages: ClaudeMessage[] = [];
  let current: ClaudeMessage | undefined;
  const flush = () => {
    if (current && current.content.length > 0) messages.push(current);
    current = undefined;
  };
  const append = (block: ContentBlock) => {
    current ??= { role: 'assistant', content: [] };
    current.content.push(block);
  };
  for (const e of events) {
    switch (e.type) {
      case 'user_message':
        flush();
        messages.push({ role: 'user', content: [{ type: 'text', text: e.content }] });
        break;
      case 'assistant_start':
        flush();
        current = { role: 'assistant', content: [] };
        break;
      case 'content_text': {
        // Streamed deltas arrive one node each; they read as one text block.
        const last = current?.content.at(-1);
        if (last?.type === 'text') last.text += e.text;
        else append({ type: 'text', text: e.text });
        break;
      }
      case 'content_tool_use':
        append({ type: 'tool_use', id: e.id, name: e.name, input: e.input });
        break;
      case 'content_thinking':
        append({ type: 'thinking', thinking: e.thinking });
        break;
      case 'user_tool_result':
        flush();
        messages.push({
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: e.tool_use_id, content: e.content, is_error: e.is_error }],
        });
        current = { role: 'assistant', content: [] };
        break;
      case 'assistant_complete':
        flush();
        break;
      case 'launch_command':
      case 'claude_stderr':
        break;
    }
  }
  flush();
  return messages;
}

const NODE_EVENT_TYPES = new Set([
  'user_message',
  'assistant_start',
  'content_text',
  'content_tool_use',
  'content_thinking',
  'user_tool_result',
  'assistant_complete',
  'launch_command',
  'claude_stderr',
]);

/** Parses a text node's content as a NodeEvent, or undefined when it is not one. */
export function parseNodeEvent(content: string): NodeEvent | undefined {
  try {
    const v = JSON.parse(content) as { type?: unknown };
    return typeof v === 'object' && v !== null && typeof v.type === 'string' && NODE_EVENT_TYPES.has(v.type) ? (v as NodeEvent) : undefined;
  } catch {
    return undefined;
  }
}
