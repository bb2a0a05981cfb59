import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import { errorItemCode } from '../wire/errors.js';
import type { RequestToolItem, ToolEntry, ToolItem } from './tool-catalog.js';

/** Caps on what one tool result collects; past either, the hub stream is cancelled. */
export interface ResultLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
}

/** How one tool call runs: who calls, when it stops, and where its side traffic goes. */
export interface ToolRun {
  readonly principal: Principal | undefined;
  /** Aborts when the client cancelled, disconnected or closed the session. */
  readonly signal: AbortSignal;
  /** Progress, and each data item of a streaming tool as JSON text. */
  readonly notify: (message: string) => Promise<void>;
  /** A question the method asks (`ctx.request()`). */
  readonly ask: (item: RequestToolItem) => void;
  readonly limits: ResultLimits;
}

/**
 * Runs a tool's stream into one MCP result: data items are collected (within the
 * limits, else the result says it was truncated), the first error item is the
 * result, progress and questions go to `run`.
 */
export async function toolResult(entry: ToolEntry, args: Record<string, unknown>, run: ToolRun): Promise<CallToolResult> {
  const { signal, notify, ask, principal, limits } = run;
  const contents: unknown[] = [];
  const texts: string[] = [];
  let bytes = 0;
  let truncated: string | undefined;
  // Breaking out of the loop cancels the hub stream (its producer's `finally` runs),
  // as does `signal`: the client cancelled, disconnected or closed the session.
  for await (const item of entry.run(args, signal, principal)) {
    if (item.type === 'data') {
      const text = JSON.stringify(item.content) ?? 'null';
      const size = Buffer.byteLength(text);
      if (contents.length >= limits.maxItems) {
        truncated = `more than ${limits.maxItems} items (the limit)`;
        break;
      }
      if (bytes + size > limits.maxBytes) {
        truncated = `more than ${limits.maxBytes} bytes of JSON (the limit)`;
        break;
      }
      bytes += size;
      contents.push(item.content);
      texts.push(text);
      if (entry.streaming) await notify(text);
    } else if (item.type === 'progress') {
      await notify(item.percentage !== undefined ? `${item.message} (${item.percentage}%)` : item.message);
    } else if (item.type === 'error') {
      return errorResult(item);
    } else if (item.type === 'request') {
      ask(item);
    }
  }
  if (truncated && !entry.streaming) {
    return { isError: true, content: [{ type: 'text', text: `Result too large: ${truncated}; the call was cancelled` }] };
  }
  const structuredContent = entry.streaming ? { items: contents } : { result: contents[0] ?? null };
  const content = texts.map((text) => ({ type: 'text' as const, text }));
  if (truncated) {
    const note = `Truncated: the stream produced ${truncated}; it was cancelled after ${contents.length} items. Narrow the call (fewer items) to see the rest.`;
    content.push({ type: 'text', text: note });
    return { content, structuredContent, _meta: { 'plexus-hub/truncated': { items: contents.length, bytes, reason: truncated } } };
  }
  return { content: content.length > 0 ? content : [{ type: 'text', text: 'null' }], structuredContent };
}

/** `_meta` key of a failed call's code and details. */
export const ERROR_META = 'plexus-hub/error';

/**
 * A failed call as a tool result: the message for a person, and the code and details
 * for a program (`structuredContent.error`, also under `_meta`), so an agent can act
 * on `arbor.tree_not_found` and its `tree_id` instead of parsing a sentence.
 */
export function errorResult(item: Extract<ToolItem, { type: 'error' }>): CallToolResult {
  const code = errorItemCode(item.code);
  const facts = item.details === undefined ? { code } : { code, details: item.details };
  return {
    isError: true,
    content: [{ type: 'text', text: item.message }],
    structuredContent: { error: { code, message: item.message, ...(item.details === undefined ? {} : { details: item.details }) } },
    _meta: { [ERROR_META]: facts },
  };
}
