import { activationMetadata, type ActivationMetadata } from './decorators.js';
import { isActivation, assertSegment, type Activation, type CallContext, type MethodInfo } from './types.js';
import type { ArgSpec, ExtractedClass } from '../schema/extract.js';
import { schemaLoader } from '../schema/loader.js';

/**
 * Instance-side hooks a decorated class may define. A class with `children()` is a
 * hub; with no namespace in `@activation()`, each instance names itself.
 */
export interface DecoratedHooks {
  readonly namespace?: string;
  /** Overrides the class-level version for this instance. */
  readonly version?: string;
  /** Overrides the JSDoc description for this instance (e.g. one class, many planets). */
  readonly description?: string;
  children?(): readonly object[];
  onChange?(listener: () => void): () => void;
}

interface BoundMethod extends MethodInfo {
  readonly key: string;
  readonly args: readonly ArgSpec[];
}

/** Adapts an instance of an `@activation` class to the `Activation` interface. */
export class DecoratedActivation implements Activation {
  readonly namespace: string;
  #schema?: ExtractedClass;
  #methods?: readonly BoundMethod[];
  #byName?: ReadonlyMap<string, BoundMethod>;
  #childCache?: { readonly source: readonly object[]; readonly adapted: readonly Activation[] };

  constructor(
    readonly instance: object & DecoratedHooks,
    readonly meta: ActivationMetadata,
  ) {
    const namespace = meta.namespace ?? instance.namespace;
    if (typeof namespace !== 'string') {
      throw new TypeError(`${meta.className}: @activation() has no namespace, so each instance needs a string \`namespace\` property`);
    }
    assertSegment('Namespace', namespace);
    this.namespace = namespace;
    if (typeof instance.onChange === 'function') {
      this.onChange = (listener) => instance.onChange!(listener);
    }
  }

  get version(): string {
    return this.instance.version ?? this.meta.options.version ?? '0.0.0';
  }

  get description(): string {
    return this.instance.description ?? this.meta.options.description ?? this.#schema?.description ?? '';
  }

  get longDescription(): string | undefined {
    return this.#schema?.longDescription;
  }

  get legacyWire(): boolean {
    return this.meta.options.legacyWire === true;
  }

  /** Loads the class's schema (disk cache or the TS checker); the hub awaits this before routing. */
  async prepare(): Promise<void> {
    if (this.#schema) return;
    this.#adopt(await schemaLoader.load(this.#target()));
  }

  #target() {
    const { className, sourceFile, methods } = this.meta;
    return { className, sourceFile, methodKeys: methods.map((m) => m.key) };
  }

  #adopt(schema: ExtractedClass): void {
    this.#methods = this.meta.methods.map((m) => {
      const extracted = schema.methods[m.key]!;
      return {
        key: m.key,
        name: m.name,
        description: m.options.description ?? extracted.description,
        ...(extracted.params ? { params: extracted.params } : {}),
        returns: extracted.returns,
        streaming: m.options.streaming ?? extracted.streaming,
        ...(m.options.verbs ? { verbs: m.options.verbs } : {}),
        ...(m.options.bidirectional ? { bidirectional: true } : {}),
        args: extracted.args,
      };
    });
    this.#byName = new Map(this.#methods.map((m) => [m.name, m]));
    this.#schema = schema;
  }

  /** True once `methods()` can answer (another instance of the class may have loaded it). */
  get prepared(): boolean {
    if (!this.#schema) {
      const loaded = schemaLoader.peek(this.#target());
      if (loaded) this.#adopt(loaded);
    }
    return this.#schema !== undefined;
  }

  methods(): readonly MethodInfo[] {
    if (!this.prepared) throw new Error(`${this.meta.className}: schema not loaded yet (await hub.ready())`);
    return this.#methods!;
  }

  invoke(name: string, params: Readonly<Record<string, unknown>>, ctx: CallContext): unknown {
    const m = this.#byName?.get(name);
    if (!m) throw new Error(`${this.meta.className} has no method ${name}`);
    const args = m.args.map((a) => (a.kind === 'context' ? ctx : params[a.name]));
    // Trailing undefineds are dropped so JS default parameters apply exactly as in a direct call.
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    const fn = (this.instance as Record<string, (...a: unknown[]) => unknown>)[m.key]!;
    return fn.apply(this.instance, args);
  }

  onChange?: (listener: () => void) => () => void;

  get children(): (() => readonly Activation[]) | undefined {
    if (typeof this.instance.children !== 'function') return undefined;
    return () => {
      const source = this.instance.children!();
      // Re-adapt only when the instance hands out a different array (adapters themselves are cached per child).
      if (this.#childCache?.source !== source) this.#childCache = { source, adapted: source.map(toActivation) };
      return this.#childCache.adapted;
    };
  }
}

const adapters = new WeakMap<object, Activation>();

/** Anything registrable (an `@activation` instance or an `Activation`) as an `Activation`. */
export function toActivation(value: object): Activation {
  if (isActivation(value)) return value;
  let adapted = adapters.get(value);
  if (!adapted) {
    const meta = activationMetadata(value.constructor);
    if (!meta) {
      throw new TypeError(`${value.constructor?.name ?? typeof value} is neither an @activation class instance nor an Activation`);
    }
    adapted = new DecoratedActivation(value, meta);
    adapters.set(value, adapted);
  }
  return adapted;
}
