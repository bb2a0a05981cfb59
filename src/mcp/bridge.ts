import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode as McpErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type JSONRPCMessage,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Activation, JsonSchema, MethodInfo } from '../activation/types.js';
import { trustedPrincipal, type Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { CANCELLED_ANSWER } from '../hub/pending-requests.js';
import { paramsProblem } from '../schema/validate.js';
import { DEFAULT_MCP_MAX_ITEMS, DEFAULT_MCP_MAX_RESULT_BYTES } from './limits.js';
import { resolveNaming, toolName, type ToolNaming } from './tool-names.js';

export interface McpBridgeOptions {
  /** Tool naming policy (default `auto`). */
  readonly toolNames?: ToolNaming;
  /**
   * Data items one tool result collects (default 1,000). Past it the hub stream is
   * cancelled and the result says it was truncated.
   */
  readonly maxItems?: number;
  /** Bytes of item JSON one tool result collects (default 1 MiB); past it, the same. */
  readonly maxResultBytes?: number;
}

export interface McpServerOptions extends McpBridgeOptions {
  /**
   * Who the MCP client is: `tools/list` shows only what it may call, and every
   * call is checked as it. Default: trusted (a stdio parent).
   */
  readonly principal?: Principal;
}

/** One hub method as an MCP tool, before naming. */
interface ToolEntry {
  readonly path: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  readonly streaming: boolean;
  /** May this principal see (and so call) the tool? */
  readonly visible: (principal: Principal | undefined) => boolean;
  /** Runs the tool: a stream of hub items. */
  readonly run: (args: Record<string, unknown>, signal: AbortSignal, principal: Principal | undefined) => AsyncIterable<ToolItem>;
}

/** What the bridge reads from a stream item (hub items have more). */
type ToolItem =
  | { readonly type: 'data'; readonly content: unknown }
  | { readonly type: 'progress'; readonly message: string; readonly percentage?: number }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'done' }
  | RequestToolItem;

type RequestToolItem = { readonly type: 'request'; readonly requestId: string; readonly requestData: unknown; readonly timeoutMs: number };

async function* schemaItems(hub: DynamicHub, path: string | undefined, principal: Principal | undefined): AsyncGenerator<ToolItem> {
  try {
    yield { type: 'data', content: await hub.schema(path, { principal }) };
  } catch (err) {
    yield { type: 'error', message: (err as Error).message };
  }
}

const EMPTY_OBJECT: JsonSchema = { type: 'object', properties: {} };

/** Moves `$defs` of a nested schema to the root of the schema that embeds it, so `#/$defs/X` still resolves. */
function embed(schema: JsonSchema, wrap: (inner: JsonSchema) => JsonSchema): JsonSchema {
  const { $defs, ...inner } = schema as JsonSchema & { $defs?: unknown };
  return $defs ? { ...wrap(inner), $defs } : wrap(inner);
}

function outputSchemaOf(m: MethodInfo): JsonSchema {
  return embed(m.returns, (inner) =>
    m.streaming
      ? { type: 'object', properties: { items: { type: 'array', items: inner } }, required: ['items'] }
      : { type: 'object', properties: { result: inner }, required: ['result'] },
  );
}

/**
 * The tool catalog of a hub: every method at every depth, plus two meta-tools
 * (`<root>.call` calls any path, `<root>.schema` describes any path) for clients
 * that ignore `tools/list_changed`. Rebuilt when the hub changes.
 */
export class ToolCatalog {
  #entries?: Promise<Map<string, ToolEntry>>;

  constructor(readonly hub: DynamicHub) {
    hub.onChange(() => (this.#entries = undefined));
  }

  entries(): Promise<Map<string, ToolEntry>> {
    return (this.#entries ??= this.#build());
  }

  async #build(): Promise<Map<string, ToolEntry>> {
    const hub = this.hub;
    await hub.ready();
    const root = hub.namespace;
    const out = new Map<string, ToolEntry>();
    const visit = (node: Activation, prefix: string, hops: readonly Activation[], at: readonly string[]): void => {
      for (const m of node.methods()) {
        const path = `${prefix}.${m.name}`;
        if (path === `${root}.call`) continue; // replaced by the meta-tool below
        out.set(path, {
          path,
          description: m.description,
          inputSchema: m.params ?? EMPTY_OBJECT,
          outputSchema: outputSchemaOf(m),
          streaming: m.streaming,
          // The same rules as the router's: every activation on the way visible, then the method.
          visible: (p) => hops.every((h, i) => hub.visible(p, h, at.slice(0, i))) && hub.visible(p, node, at, m),
          run: (args, signal, principal) => hub.call(path, args, { signal, principal }),
        });
      }
      for (const child of node.children?.() ?? []) {
        visit(child, prefix === root ? child.namespace : `${prefix}.${child.namespace}`, [...hops, child], [...at, child.namespace]);
      }
    };
    visit(hub, root, [hub], []);
    const authenticated = (p: Principal | undefined) => !p?.unauthenticated();
    out.set(`${root}.call`, {
      path: `${root}.call`,
      description:
        'Call any hub method by its dot path (e.g. "echo.echo") with its params; returns its data items. Use it for methods added after the tool list was read.',
      inputSchema: {
        type: 'object',
        properties: {
          method: { type: 'string', description: 'dot path of the method' },
          params: { type: 'object', description: "the method's params" },
        },
        required: ['method'],
        additionalProperties: false,
      },
      outputSchema: { type: 'object', properties: { items: { type: 'array' } }, required: ['items'] },
      streaming: true,
      visible: authenticated,
      run: (args, signal, principal) => hub.call(String(args.method), args.params ?? {}, { signal, principal }),
    });
    out.set(`${root}.schema`, {
      path: `${root}.schema`,
      description:
        'The schema of any path: the root when omitted, an activation ("solar.earth") with its methods and children, or one method ("echo.echo").',
      inputSchema: {
        type: 'object',
        properties: { path: { type: 'string', description: 'dot path; omit for the root' } },
        additionalProperties: false,
      },
      outputSchema: { type: 'object', properties: { result: { type: 'object' } }, required: ['result'] },
      streaming: false,
      visible: authenticated,
      run: (args, _signal, principal) => schemaItems(hub, args.path === undefined ? undefined : String(args.path), principal),
    });
    return out;
  }
}

/** Creates an MCP server (one per client session) whose tools are the hub's methods. */
export function createMcpServer(catalog: ToolCatalog, options: McpServerOptions = {}): Server {
  const hub = catalog.hub;
  const principal = options.principal ?? trustedPrincipal('mcp-stdio-parent', 'mcp-stdio');
  const server = new Server(
    { name: `plexus-hub (${hub.namespace})`, version: hub.version },
    {
      capabilities: { tools: { listChanged: true } },
      instructions: `Tools are the methods of the Plexus RPC hub "${hub.namespace}", named by dot path. ${hub.namespace}.call reaches any method by path; ${hub.namespace}.schema describes any path.`,
    },
  );
  const maxItems = options.maxItems ?? DEFAULT_MCP_MAX_ITEMS;
  const maxBytes = options.maxResultBytes ?? DEFAULT_MCP_MAX_RESULT_BYTES;
  const naming = () => resolveNaming(options.toolNames ?? 'auto', server.getClientVersion()?.name);

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const form = naming();
    const tools: Tool[] = [...(await catalog.entries()).values()]
      .filter((e) => e.visible(principal))
      .map((e) => ({
        name: toolName(e.path, form),
        title: e.path,
        description: e.description,
        inputSchema: e.inputSchema as Tool['inputSchema'],
        outputSchema: e.outputSchema as Tool['outputSchema'],
      }));
    return { tools };
  });

  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const entries = await catalog.entries();
    const found = findTool(entries, req.params.name);
    // A tool the principal may not see is unknown, exactly like one that does not exist.
    const entry = found?.visible(principal) ? found : undefined;
    if (!entry) throw new McpError(McpErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`);
    const args = req.params.arguments ?? {};
    const problem = paramsProblem(entry.inputSchema, args);
    if (problem) return { isError: true, content: [{ type: 'text', text: `Invalid params: ${problem}` }] };
    const progressToken = req.params._meta?.progressToken;
    let notified = 0;
    const notify = async (message: string): Promise<void> => {
      if (progressToken === undefined) return;
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: ++notified, message } });
    };
    // Elicitations run beside the stream (so a timeout or an error item is not held up
    // behind an open question) and are abandoned when the call ends.
    const asking = new AbortController();
    const stopAsking = (): void => asking.abort();
    extra.signal.addEventListener('abort', stopAsking, { once: true });
    try {
      const result = await toolResult(
        entry,
        args,
        extra.signal,
        notify,
        (item) => void elicit(server, hub, item, asking.signal),
        principal,
        { maxItems, maxBytes },
      );
      // The SDK client drops progress it reads in the same chunk as the result
      // (typescript-sdk#2580). A millisecond between them lets a pipe deliver them
      // apart: measured over stdio, 55 of 150 notifications lost without it, 2-6 with it.
      if (notified > 0 && !result.isError) await new Promise((r) => setTimeout(r, 1));
      return result;
    } finally {
      extra.signal.removeEventListener('abort', stopAsking);
      asking.abort();
    }
  });

  const off = hub.onChange(() => void server.sendToolListChanged().catch(() => {}));
  const onclose = server.onclose;
  server.onclose = () => {
    off();
    onclose?.();
  };
  return server;
}

/**
 * Checks every `tools/call` before the SDK parses it, so MCP follows the same
 * rules as the WebSocket: the SDK's schema answers `arguments` that are not an
 * object with -32603 and a raw zod dump (here: -32602 and a readable message), and
 * silently drops a top-level `__proto__` key, which the hub reports as an unknown
 * param (here: the same `Invalid params` tool error as any other bad param).
 */
export function guardToolCalls(transport: Transport, catalog: ToolCatalog): void {
  const inner = transport.onmessage;
  if (!inner) throw new Error('guardToolCalls: connect the server to the transport first');
  transport.onmessage = (message, extra) => {
    const m = message as { method?: unknown; id?: unknown; params?: { name?: unknown; arguments?: unknown } };
    if (m.method !== 'tools/call' || (typeof m.id !== 'string' && typeof m.id !== 'number')) return inner(message, extra);
    const id = m.id;
    const args = m.params?.arguments;
    const answer = (reply: Omit<JSONRPCMessage, 'jsonrpc'>) =>
      void transport.send({ jsonrpc: '2.0', ...reply } as JSONRPCMessage, { relatedRequestId: id }).catch(() => {});
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      const what = Array.isArray(args) ? 'an array' : args === null ? 'null' : `a ${typeof args}`;
      return answer({
        id,
        error: {
          code: McpErrorCode.InvalidParams,
          message: `Invalid params: tools/call "arguments" must be an object of named params, not ${what}`,
        },
      } as Omit<JSONRPCMessage, 'jsonrpc'>);
    }
    if (args === undefined || !Object.hasOwn(args, '__proto__')) return inner(message, extra);
    void catalog.entries().then((entries) => {
      const entry = findTool(entries, String(m.params?.name));
      const problem = entry && paramsProblem(entry.inputSchema, args as Record<string, unknown>);
      if (!problem) return inner(message, extra);
      answer({ id, result: { isError: true, content: [{ type: 'text', text: `Invalid params: ${problem}` }] } } as Omit<
        JSONRPCMessage,
        'jsonrpc'
      >);
    });
  };
}

/** Runs a tool's stream into one result; progress and streamed data go to `notify`, questions to `ask`. */
async function toolResult(
  entry: ToolEntry,
  args: Record<string, unknown>,
  signal: AbortSignal,
  notify: (message: string) => Promise<void>,
  ask: (item: RequestToolItem) => void,
  principal: Principal | undefined,
  limits: { readonly maxItems: number; readonly maxBytes: number },
): Promise<CallToolResult> {
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
      return { isError: true, content: [{ type: 'text', text: item.message }] };
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

/** MCP elicitation takes a flat object of primitives; anything else is asked as `{ value: <schema> }`. */
function elicitationSchema(schema: JsonSchema | undefined): { requested: JsonSchema; wrapped: boolean } {
  const properties = schema?.properties as Record<string, JsonSchema> | undefined;
  const primitive = (s: JsonSchema): boolean => ['string', 'number', 'integer', 'boolean'].includes(s.type as string);
  if (schema?.type === 'object' && properties && Object.values(properties).every(primitive)) return { requested: schema, wrapped: false };
  const value: JsonSchema = schema && primitive(schema) ? schema : { type: 'string', description: 'the answer (JSON)' };
  return { requested: { type: 'object', properties: { value }, required: ['value'] }, wrapped: true };
}

/**
 * Answers a hub `request` item by MCP elicitation, when the client declared the
 * capability; otherwise the method's `ctx.request()` fails with a message saying so.
 */
async function elicit(server: Server, hub: DynamicHub, item: RequestToolItem, signal: AbortSignal): Promise<void> {
  const { prompt, schema } = (item.requestData ?? {}) as { prompt?: string; schema?: JsonSchema };
  if (!server.getClientCapabilities()?.elicitation) {
    hub.rejectRequest(
      item.requestId,
      `Cannot ask "${prompt}": this MCP client does not support elicitation (it did not declare the capability)`,
    );
    return;
  }
  const { requested, wrapped } = elicitationSchema(schema);
  try {
    // The hub's own timer decides when the question expires; the SDK's only backs it up.
    const result = await server.elicitInput(
      { message: prompt ?? '', requestedSchema: requested as never },
      { signal, timeout: item.timeoutMs + 1000 },
    );
    if (result.action !== 'accept') return hub.respond(item.requestId, CANCELLED_ANSWER);
    let answer: unknown = wrapped ? result.content?.value : result.content;
    // A non-primitive answer was asked for as JSON text.
    if (wrapped && !(schema && ['string', 'number', 'integer', 'boolean'].includes(schema.type as string)) && typeof answer === 'string') {
      try {
        answer = JSON.parse(answer);
      } catch {
        /* not JSON: validated as the string it is */
      }
    }
    hub.respond(item.requestId, answer);
  } catch (err) {
    // Invalid answers already failed the request (the method says why); anything else fails it here.
    hub.rejectRequest(item.requestId, `Elicitation failed: ${(err as Error).message}`);
  }
}

/** Either naming form (and the shortened forms) finds the tool. */
function findTool(entries: Map<string, ToolEntry>, name: string): ToolEntry | undefined {
  const direct = entries.get(name);
  if (direct) return direct;
  for (const e of entries.values()) {
    if (toolName(e.path, 'underscore') === name || toolName(e.path, 'dotted') === name) return e;
  }
  return undefined;
}
