import type { Activation, JsonSchema, MethodInfo } from '../activation/types.js';
import type { Principal } from '../auth/principal.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { toolName } from './tool-names.js';

/** One hub method as an MCP tool, before naming. */
export interface ToolEntry {
  readonly path: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  readonly streaming: boolean;
  /**
   * The method returns one markdown document and needs no params (an extension's
   * skill): the bridge also lists it as an MCP resource and a prompt.
   */
  readonly document: boolean;
  /** May this principal see (and so call) the tool? */
  readonly visible: (principal: Principal | undefined) => boolean;
  /** Runs the tool: a stream of hub items. */
  readonly run: (args: Record<string, unknown>, signal: AbortSignal, principal: Principal | undefined) => AsyncIterable<ToolItem>;
}

/** What the bridge reads from a stream item (hub items have more). */
export type ToolItem =
  | { readonly type: 'data'; readonly content: unknown }
  | { readonly type: 'progress'; readonly message: string; readonly percentage?: number }
  | { readonly type: 'error'; readonly message: string; readonly code?: string; readonly details?: unknown }
  | { readonly type: 'done' }
  | RequestToolItem;

export type RequestToolItem = {
  readonly type: 'request';
  readonly requestId: string;
  readonly requestData: unknown;
  readonly timeoutMs: number;
};

async function* schemaItems(hub: DynamicHub, path: string | undefined, principal: Principal | undefined): AsyncGenerator<ToolItem> {
  try {
    yield { type: 'data', content: await hub.schema(path, { principal }) };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    yield { type: 'error', message: (err as Error).message, ...(code === undefined ? {} : { code: String(code) }) };
  }
}

const EMPTY_OBJECT: JsonSchema = { type: 'object', properties: {} };

/** Moves `$defs` of a nested schema to the root of the schema that embeds it, so `#/$defs/X` still resolves. */
function embed(schema: JsonSchema, wrap: (inner: JsonSchema) => JsonSchema): JsonSchema {
  const { $defs, ...inner } = schema as JsonSchema & { $defs?: unknown };
  return $defs ? { ...wrap(inner), $defs } : wrap(inner);
}

/**
 * A failed call's `structuredContent` (tool-result.ts): the error's code (a JSON-RPC
 * number or a domain name such as `arbor.tree_not_found`), message and details.
 */
export const TOOL_ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { code: { type: ['integer', 'string'] }, message: { type: 'string' }, details: {} },
  required: ['code', 'message'],
};

/** A tool's output: its result under `key`, or (an error result) `error`. */
function resultOrError(key: 'items' | 'result', inner: JsonSchema): JsonSchema {
  return {
    type: 'object',
    properties: { [key]: inner, error: TOOL_ERROR_SCHEMA },
    anyOf: [{ required: [key] }, { required: ['error'] }],
  };
}

function outputSchemaOf(m: MethodInfo): JsonSchema {
  return embed(m.returns, (inner) =>
    m.streaming ? resultOrError('items', { type: 'array', items: inner }) : resultOrError('result', inner),
  );
}

/** One markdown document, no params needed: `returns` says `contentMediaType: text/markdown`. */
function isDocument(m: MethodInfo): boolean {
  const required = (m.params as { required?: unknown } | undefined)?.required;
  return !m.streaming && m.returns.contentMediaType === 'text/markdown' && !(Array.isArray(required) && required.length > 0);
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

  /** The tool of an MCP tool name: either naming form (and the shortened forms) finds it. */
  async find(name: string): Promise<ToolEntry | undefined> {
    const entries = await this.entries();
    const direct = entries.get(name);
    if (direct) return direct;
    for (const e of entries.values()) {
      if (toolName(e.path, 'underscore') === name || toolName(e.path, 'dotted') === name) return e;
    }
    return undefined;
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
          document: isDocument(m),
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
      outputSchema: resultOrError('items', { type: 'array' }),
      streaming: true,
      document: false,
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
      outputSchema: resultOrError('result', { type: 'object' }),
      streaming: false,
      document: false,
      visible: authenticated,
      run: (args, _signal, principal) => schemaItems(hub, args.path === undefined ? undefined : String(args.path), principal),
    });
    return out;
  }
}
