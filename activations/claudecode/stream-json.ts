import type { ChatContent, ChatThinking, ChatToolResult, ChatToolUse, ChatUsage, NodeEvent } from './types.js';

/** What one stdout line of `claude --output-format stream-json` amounts to. */
export type ParsedOutput =
  | { readonly kind: 'event'; readonly event: ChatContent | ChatThinking | ChatToolUse | ChatToolResult; readonly node: NodeEvent }
  | { readonly kind: 'unknown'; readonly eventType: string; readonly data: unknown }
  | { readonly kind: 'malformed'; readonly message: string };

export interface TurnResult {
  readonly isError: boolean;
  readonly message?: string;
  readonly usage: ChatUsage;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Reads one turn of stream-json, line by line, into typed chat events. Keeps the
 * turn's state: the CLI session id, the result, and the assistant text. Text comes
 * from the partial-message deltas; the full `assistant` event that follows repeats
 * it, so its text is used only when nothing was streamed, and a tool call seen in
 * both forms is reported once.
 */
export class TurnParser {
  sessionId: string | null = null;
  result: TurnResult | undefined;
  /** The assistant's text of this turn, as stored in the assistant message. */
  text = '';
  #line = 0;
  #streamedText = false;
  readonly #partialTools = new Map<number, { id: string; name: string; json: string }>();
  readonly #reportedTools = new Set<string>();

  push(line: string): ParsedOutput[] {
    this.#line++;
    if (line.trim() === '') return [];
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      return [this.#malformed(`is not JSON (${(err as Error).message})`, line)];
    }
    if (!isObject(value) || typeof value.type !== 'string') return [this.#malformed('is not an object with a string "type"', line)];
    const sid = str(value.session_id);
    if (sid) this.sessionId = sid;
    switch (value.type) {
      case 'system':
        return [];
      case 'stream_event':
        return isObject(value.event) ? this.#streamEvent(value.event) : [];
      case 'assistant':
        return this.#assistant(value.message);
      case 'user':
        return this.#user(value.message);
      case 'result':
        this.#result(value);
        return [];
      default:
        return [{ kind: 'unknown', eventType: value.type, data: value }];
    }
  }

  #malformed(what: string, line: string): ParsedOutput {
    const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
    return { kind: 'malformed', message: `malformed stream-json from claude: line ${this.#line} ${what}: ${JSON.stringify(shown)}` };
  }

  #streamEvent(e: Json): ParsedOutput[] {
    const index = typeof e.index === 'number' ? e.index : -1;
    if (e.type === 'content_block_start' && isObject(e.content_block) && e.content_block.type === 'tool_use') {
      const block = e.content_block;
      const initial = isObject(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
      this.#partialTools.set(index, { id: str(block.id) ?? '', name: str(block.name) ?? '', json: initial });
      return [];
    }
    if (e.type === 'content_block_delta' && isObject(e.delta)) {
      if (e.delta.type === 'text_delta' && typeof e.delta.text === 'string') {
        this.#streamedText = true;
        return [this.#text(e.delta.text)];
      }
      if (e.delta.type === 'input_json_delta' && typeof e.delta.partial_json === 'string') {
        const tool = this.#partialTools.get(index);
        if (tool) tool.json += e.delta.partial_json;
      }
      return [];
    }
    if (e.type === 'content_block_stop') {
      const tool = this.#partialTools.get(index);
      if (!tool) return [];
      this.#partialTools.delete(index);
      let input: unknown = {};
      try {
        if (tool.json) input = JSON.parse(tool.json);
      } catch {
        // A cut-off input is shown as {}; the full `assistant` event has it, but the call is already reported.
      }
      return this.#toolUse(tool.id, tool.name, input);
    }
    return [];
  }

  #assistant(message: unknown): ParsedOutput[] {
    const out: ParsedOutput[] = [];
    const blocks = isObject(message) && Array.isArray(message.content) ? message.content : [];
    for (const b of blocks) {
      if (!isObject(b)) continue;
      if (b.type === 'text' && typeof b.text === 'string' && !this.#streamedText) out.push(this.#text(b.text));
      else if (b.type === 'thinking' && typeof b.thinking === 'string') {
        out.push({
          kind: 'event',
          event: { type: 'thinking', thinking: b.thinking },
          node: { type: 'content_thinking', thinking: b.thinking },
        });
      } else if (b.type === 'tool_use') out.push(...this.#toolUse(str(b.id) ?? '', str(b.name) ?? '', b.input ?? {}));
      else if (b.type === 'tool_result') out.push(this.#toolResult(b));
    }
    this.#streamedText = false; // the next message streams its own text
    return out;
  }

  /** The CLI reports tool results as `user` events. */
  #user(message: unknown): ParsedOutput[] {
    const blocks = isObject(message) && Array.isArray(message.content) ? message.content : [];
    return blocks.filter((b): b is Json => isObject(b) && b.type === 'tool_result').map((b) => this.#toolResult(b));
  }

  #text(text: string): ParsedOutput {
    this.text += text;
    return { kind: 'event', event: { type: 'content', text }, node: { type: 'content_text', text } };
  }

  #toolUse(id: string, name: string, input: unknown): ParsedOutput[] {
    if (this.#reportedTools.has(id)) return [];
    this.#reportedTools.add(id);
    return [
      {
        kind: 'event',
        event: { type: 'tool_use', tool_name: name, tool_use_id: id, input },
        node: { type: 'content_tool_use', id, name, input },
      },
    ];
  }

  #toolResult(b: Json): ParsedOutput {
    const tool_use_id = str(b.tool_use_id) ?? '';
    const output = contentText(b.content);
    const is_error = b.is_error === true;
    return {
      kind: 'event',
      event: { type: 'tool_result', tool_use_id, output, is_error },
      node: { type: 'user_tool_result', tool_use_id, content: output, is_error },
    };
  }

  #result(r: Json): void {
    const usage = isObject(r.usage) ? r.usage : {};
    this.result = {
      isError: r.is_error === true,
      message: str(r.error) ?? str(r.result) ?? str(r.subtype),
      usage: {
        input_tokens: num(usage.input_tokens),
        output_tokens: num(usage.output_tokens),
        // Current CLIs send total_cost_usd; the reference only read cost_usd.
        cost_usd: num(r.total_cost_usd) ?? num(r.cost_usd),
        num_turns: num(r.num_turns),
      },
    };
  }
}

/** A tool result's content: a string, or content blocks whose text is joined. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content);
  return content.map((c) => (isObject(c) && c.type === 'text' && typeof c.text === 'string' ? c.text : JSON.stringify(c))).join('\n');
}
