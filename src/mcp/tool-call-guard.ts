import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode as McpErrorCode, type JSONRPCMessage, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { paramsProblem } from '../schema/validate.js';
import type { ToolCatalog } from './tool-catalog.js';

type Reply = Omit<JSONRPCMessage, 'jsonrpc'>;

/**
 * The transport an MCP server of the bridge is connected to: it forwards
 * everything to the real transport, and checks every `tools/call` before the
 * SDK parses it, so MCP follows the same rules as the WebSocket. The SDK's schema
 * answers `arguments` that are not an object with -32603 and a raw zod dump
 * (here: -32602 and a readable message), and silently drops a top-level
 * `__proto__` key, which the hub reports as an unknown param (here: the same
 * `Invalid params` tool error as any other bad param).
 *
 * It takes over the real transport's callbacks, as a server's `connect()` would;
 * set `onclose` on the guard (before `connect()`) to hear of the close.
 */
export class ToolCallGuard implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  constructor(
    private readonly transport: Transport,
    private readonly catalog: ToolCatalog,
  ) {
    transport.onclose = () => this.onclose?.();
    transport.onerror = (error) => this.onerror?.(error);
    transport.onmessage = (message, extra) => this.#receive(message, extra);
  }

  get sessionId(): string | undefined {
    return this.transport.sessionId;
  }

  start(): Promise<void> {
    return this.transport.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.transport.send(message, options);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  #receive(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): void {
    const pass = () => this.onmessage?.(message, extra);
    const m = message as { method?: unknown; id?: unknown; params?: { name?: unknown; arguments?: unknown } };
    if (m.method !== 'tools/call' || (typeof m.id !== 'string' && typeof m.id !== 'number')) return pass();
    const id = m.id;
    const args = m.params?.arguments;
    const answer = (reply: Reply) =>
      void this.transport.send({ jsonrpc: '2.0', ...reply } as JSONRPCMessage, { relatedRequestId: id }).catch(() => {});
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      const what = Array.isArray(args) ? 'an array' : args === null ? 'null' : `a ${typeof args}`;
      return answer({
        id,
        error: {
          code: McpErrorCode.InvalidParams,
          message: `Invalid params: tools/call "arguments" must be an object of named params, not ${what}`,
        },
      } as Reply);
    }
    if (args === undefined || !Object.hasOwn(args, '__proto__')) return pass();
    void this.catalog.find(String(m.params?.name)).then((entry) => {
      const problem = entry && paramsProblem(entry.inputSchema, args as Record<string, unknown>);
      if (!problem) return pass();
      answer({ id, result: { isError: true, content: [{ type: 'text', text: `Invalid params: ${problem}` }] } } as Reply);
    });
  }
}
