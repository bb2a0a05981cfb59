import { canonicalJson } from '../src/index.js';
import type { JsonSchema, MethodSchema, PluginSchema } from '../src/wire/index.js';

/**
 * The language-neutral intermediate representation between the schema walk and
 * the emitters. Named types are deduplicated across all methods into `types`;
 * every `$ref` in the IR is `#/$defs/<name>` and resolves against `types`.
 */
export interface CodegenIR {
  readonly irVersion: 1;
  /** Root hub name, e.g. `plexus`. */
  readonly root: string;
  /** Root hash when the IR was made: clients compare it to detect drift. */
  readonly hash: string;
  readonly types: Readonly<Record<string, JsonSchema>>;
  readonly tree: IrNamespace;
}

export interface IrNamespace {
  readonly namespace: string;
  /** Dot path from the root (`solar.earth`); empty for the root. */
  readonly path: string;
  readonly description: string;
  readonly version: string;
  readonly hash: string;
  readonly methods: readonly IrMethod[];
  readonly children: readonly IrNamespace[];
}

export interface IrMethod {
  readonly name: string;
  /** Full dot path to call (`solar.earth.luna.info`; root methods as `plexus.hash`). */
  readonly path: string;
  readonly description: string;
  readonly hash: string;
  readonly streaming: boolean;
  /** The method asks its caller questions mid-stream (`request` items). */
  readonly bidirectional: boolean;
  /** Params object schema, or null when the method takes none. */
  readonly params: JsonSchema | null;
  /** Schema of one data item. */
  readonly item: JsonSchema;
}

/** Where the walk reads schemas: a live server (client) or an in-process hub. */
export interface SchemaSource {
  schema(path?: string): Promise<PluginSchema | MethodSchema>;
}

export interface BuildOptions {
  /** Called once per activation visited (for progress output on large trees). */
  readonly onProgress?: (path: string, visited: number) => void;
}

const REF = /^#\/\$defs\/(.+)$/;

/** Collects named types, renaming on conflicts so that equal names always mean equal schemas. */
class TypeTable {
  readonly types: Record<string, JsonSchema> = {};
  readonly #byContent = new Map<string, string>();

  /** Adds a schema's `$defs` (and a titled root) to the table; returns the schema rewritten to global names. */
  intern(schema: JsonSchema): JsonSchema {
    const { $defs, ...rest } = schema as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const local = $defs ?? {};
    // Decide every local name first, so defs that reference each other are rewritten consistently.
    const rename = new Map<string, string>();
    const pending = Object.keys(local).sort();
    // Resolve to a fixpoint: a def's final content depends on the names of what it references.
    for (const name of pending) rename.set(name, name);
    for (let round = 0; round < pending.length + 1; round++) {
      let changed = false;
      for (const name of pending) {
        const body = canonicalJson(rewriteRefs(stripTitle(local[name]!), rename));
        const chosen = this.#place(name, body, false);
        if (chosen !== rename.get(name)) {
          rename.set(name, chosen);
          changed = true;
        }
      }
      if (!changed) break;
    }
    for (const name of pending) {
      const def = rewriteRefs(stripTitle(local[name]!), rename);
      this.#place(rename.get(name)!, canonicalJson(def), true, def);
    }
    let root = rewriteRefs(rest, rename);
    const title = (root as { title?: unknown }).title;
    if (typeof title === 'string' && /^[A-Za-z_$][\w$]*$/.test(title)) {
      const body = stripTitle(root);
      const name = this.#place(title, canonicalJson(body), true, body);
      root = { $ref: `#/$defs/${name}` };
    }
    return root;
  }

  /** The name a type with this content gets: its own, or its own with a number when taken by other content. */
  #place(name: string, body: string, commit: boolean, def?: JsonSchema): string {
    const existing = this.#byContent.get(body);
    if (existing && (existing === name || existing.replace(/\d+$/, '') === name)) return existing;
    let candidate = name;
    for (let i = 2; this.types[candidate] !== undefined && canonicalJson(this.types[candidate]) !== body; i++) candidate = `${name}${i}`;
    if (commit && this.types[candidate] === undefined) {
      this.types[candidate] = def!;
      this.#byContent.set(body, candidate);
    }
    return candidate;
  }
}

function stripTitle(schema: JsonSchema): JsonSchema {
  const { title: _t, ...rest } = schema as JsonSchema & { title?: unknown };
  return rest;
}

/** Renames `#/$defs/` references. */
export function rewriteRefs(node: JsonSchema, rename: ReadonlyMap<string, string>): JsonSchema {
  return JSON.parse(JSON.stringify(node), (key, value) => {
    if (key === '$ref' && typeof value === 'string') {
      const m = REF.exec(value);
      if (m && rename.has(decodeURIComponent(m[1]!))) return `#/$defs/${rename.get(decodeURIComponent(m[1]!))}`;
    }
    return value;
  }) as JsonSchema;
}

/** Walks the schema tree lazily (root, then each child's schema) and builds the IR. */
export async function buildIr(source: SchemaSource, options: BuildOptions = {}): Promise<CodegenIR> {
  const table = new TypeTable();
  let visited = 0;
  const rootSchema = (await source.schema()) as PluginSchema;
  const root = rootSchema.namespace;

  const visit = async (schema: PluginSchema, path: string): Promise<IrNamespace> => {
    options.onProgress?.(path || root, ++visited);
    const methods: IrMethod[] = schema.methods
      .filter((m) => m.hash !== 'auto_schema')
      .map((m) => ({
        name: m.name,
        path: path ? `${path}.${m.name}` : `${root}.${m.name}`,
        description: m.description,
        hash: m.hash,
        streaming: m.streaming,
        bidirectional: m.bidirectional,
        params: m.params ? table.intern(m.params) : null,
        item: table.intern(m.returns ?? {}),
      }));
    const children: IrNamespace[] = [];
    for (const child of schema.children ?? []) {
      const childPath = path ? `${path}.${child.namespace}` : child.namespace;
      children.push(await visit((await source.schema(childPath)) as PluginSchema, childPath));
    }
    return {
      namespace: schema.namespace,
      path,
      description: schema.description,
      version: schema.version,
      hash: schema.hash,
      methods,
      children,
    };
  };

  const tree = await visit(rootSchema, '');
  const types: Record<string, JsonSchema> = {};
  for (const name of Object.keys(table.types).sort()) types[name] = table.types[name]!;
  return { irVersion: 1, root, hash: rootSchema.hash, types, tree };
}
