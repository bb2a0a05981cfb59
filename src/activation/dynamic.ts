import { checkVerbs, type Verb } from './verbs.js';
import { assertSegment, type Activation, type CallContext, type JsonSchema, type MethodInfo, type NodeHealth } from './types.js';

export interface DynamicMethod {
  readonly description?: string;
  /** JSON Schema of the params object; omit for a method without params. */
  readonly params?: JsonSchema;
  /** JSON Schema of one data item's content; defaults to `{}` (anything). */
  readonly returns?: JsonSchema;
  readonly streaming?: boolean;
  /** What a caller must be granted to call it (default `['read']`). */
  readonly verbs?: readonly Verb[];
  /** The handler asks its caller questions with `ctx.request()`. */
  readonly bidirectional?: boolean;
  /** Same return forms as a decorated method: value, Promise, AsyncIterable, Generator, Observable. */
  readonly handler: (params: Readonly<Record<string, unknown>>, ctx: CallContext) => unknown;
}

export interface DynamicActivationSpec {
  readonly namespace: string;
  readonly version?: string;
  readonly description?: string;
  readonly longDescription?: string;
  /** Keep the older wire form for a turn-form connection (docs/protocol.md "Wire forms"). */
  readonly legacyWire?: boolean;
  readonly methods?: Readonly<Record<string, DynamicMethod>>;
  /** The node's current health, shown in its schema (never hashed). */
  readonly health?: () => NodeHealth | undefined;
  /** Makes it a hub. */
  readonly children?: () => readonly Activation[];
}

/**
 * An activation built from runtime data (a JSON description, a plugin manifest,
 * a proxy to another server) rather than a decorated class. Its schemas are
 * given, not extracted, and are used as-is.
 */
export function defineActivation(spec: DynamicActivationSpec): Activation {
  assertSegment('Namespace', spec.namespace);
  const entries = Object.entries(spec.methods ?? {});
  const methods: MethodInfo[] = entries.map(([name, m]) => {
    assertSegment('Method name', name);
    if (name === 'schema') throw new TypeError('"schema" is a built-in method of every activation');
    return {
      name,
      description: m.description ?? '',
      ...(m.params ? { params: m.params } : {}),
      returns: m.returns ?? {},
      streaming: m.streaming ?? false,
      ...(m.verbs ? { verbs: checkVerbs(`${spec.namespace}.${name}`, m.verbs) } : {}),
      ...(m.bidirectional ? { bidirectional: true } : {}),
    };
  });
  const handlers = new Map(entries.map(([name, m]) => [name, m.handler]));
  return {
    namespace: spec.namespace,
    version: spec.version ?? '0.0.0',
    description: spec.description ?? '',
    ...(spec.longDescription ? { longDescription: spec.longDescription } : {}),
    ...(spec.legacyWire ? { legacyWire: true } : {}),
    methods: () => methods,
    invoke: (name, params, ctx) => handlers.get(name)!(params, ctx),
    ...(spec.children ? { children: spec.children } : {}),
    ...(spec.health ? { health: spec.health } : {}),
  };
}
