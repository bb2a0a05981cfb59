import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';
import type { JsonSchema } from '../../src/wire/index.js';
import { rewriteRefs, type CodegenIR, type IrMethod, type IrNamespace } from '../ir.js';
import { NameSet } from '../names.js';
import type { EmittedFile } from '../types.js';
import { pascalCase, propertyKey } from './names.js';

/**
 * The runtime every generated package carries, so it needs nothing but a WebSocket:
 * the wire module and the client (every file of both folders), copied as-is under
 * `runtime/` with their relative layout, so their imports resolve unchanged. The
 * wire module imports nothing outside itself and the client imports only the wire
 * module.
 */
// From the sources (`codegen/typescript/`) or the build (`dist/codegen/typescript/`): the .ts files ship in `src/`.
const SOURCE_ROOT = [new URL('../../src/', import.meta.url), new URL('../../../src/', import.meta.url)].find((u) =>
  existsSync(new URL('wire/errors.ts', u)),
)!;
const RUNTIME_DIRS: readonly string[] = ['wire', 'client'];

function runtimeFiles(): EmittedFile[] {
  const files: EmittedFile[] = [];
  for (const dir of RUNTIME_DIRS) {
    const names = readdirSync(new URL(`${dir}/`, SOURCE_ROOT))
      .filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts'))
      .sort();
    for (const name of names) {
      const text = readFileSync(fileURLToPath(new URL(`${dir}/${name}`, SOURCE_ROOT)), 'utf8');
      files.push({ path: `runtime/${dir}/${name}`, content: `// Copied from plexus-hub by \`hub codegen\`. Do not edit.\n${text}` });
    }
  }
  return files;
}

interface MethodTypes {
  readonly params?: string;
  readonly paramsOptional: boolean;
  readonly item: string;
}

function doc(text: string, indent: string): string {
  const body = text.trim();
  if (!body) return '';
  const lines = body.replace(/\*\//g, '*\\/').split('\n');
  return lines.length === 1
    ? `${indent}/** ${lines[0]} */\n`
    : `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

function allMethods(ns: IrNamespace): IrMethod[] {
  return [...ns.methods, ...ns.children.flatMap(allMethods)];
}

/** Plans every type name, then has json-schema-to-typescript write them in one pass. */
async function emitTypes(ir: CodegenIR): Promise<{ source: string; methodTypes: Map<string, MethodTypes> }> {
  const names = new NameSet();
  // IR type names → TS type names (PascalCase, unique, not shadowing globals).
  const rename = new Map(Object.keys(ir.types).map((n) => [n, names.take(pascalCase(n))]));
  const defs: Record<string, JsonSchema> = {};
  for (const [irName, schema] of Object.entries(ir.types)) defs[rename.get(irName)!] = rewriteRefs(schema, rename);
  const methodTypes = new Map<string, MethodTypes>();
  for (const m of allMethods(ir.tree)) {
    const base = pascalCase(m.path);
    let params: string | undefined;
    let paramsOptional = true;
    if (m.params) {
      params = names.take(`${base}Params`);
      defs[params] = { ...rewriteRefs(m.params, rename), ...(m.description ? { description: `Params of \`${m.path}\`.` } : {}) };
      paramsOptional = !(m.params.required as string[] | undefined)?.length;
    }
    const item = rewriteRefs(m.item, rename);
    const ref = typeof item.$ref === 'string' && Object.keys(item).length === 1 ? /^#\/\$defs\/(.+)$/.exec(item.$ref)?.[1] : undefined;
    let itemType = ref;
    if (!itemType) {
      itemType = names.take(`${base}Item`);
      defs[itemType] = { ...item, description: (item.description as string | undefined) ?? `One item of \`${m.path}\`.` };
    }
    methodTypes.set(m.path, { ...(params ? { params } : {}), paramsOptional, item: itemType });
  }
  const sorted = Object.fromEntries(
    Object.keys(defs)
      .sort()
      .map((k) => [k, defs[k]!]),
  );
  const raw = await compile({ type: 'object', properties: {}, additionalProperties: false, $defs: sorted } as never, '__PlexusRoot', {
    bannerComment: '',
    unreachableDefinitions: true,
    declareExternallyReferenced: true,
    strictIndexSignatures: true,
    format: true,
  });
  const source = raw
    // json-schema-to-typescript's provenance notes say nothing to a reader of a client.
    .replace(/\n? \*\n \* This interface was referenced by `__PlexusRoot`'s JSON-Schema\n \* via the `definition` "[^"]+"\./g, '')
    .replace(/\/\*\*\n \* This interface was referenced by `__PlexusRoot`'s JSON-Schema\n \* via the `definition` "[^"]+"\.\n \*\/\n/g, '')
    .replace(/export interface __PlexusRoot \{\}\n/, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { source, methodTypes };
}

function emitTree(ns: IrNamespace, types: Map<string, MethodTypes>, indent: string): string {
  const taken = new Set(ns.methods.map((m) => m.name));
  const lines: string[] = [];
  for (const m of ns.methods) {
    const t = types.get(m.path)!;
    const arg = t.params ? `params${t.paramsOptional ? '?' : ''}: T.${t.params}` : '';
    const pass = t.params ? 'params' : 'undefined';
    const asks = m.bidirectional ? '\nAsks questions mid-stream: answer them with `createClient({ onRequest })`.' : '';
    const tags = `${asks}${m.description || asks ? '\n' : ''}@plexus ${m.path} (${m.streaming ? 'stream' : 'unary'}${m.bidirectional ? ', bidirectional' : ''}, hash ${m.hash})`;
    lines.push(
      doc(`${m.description}${tags}`, indent) +
        (m.streaming
          ? `${indent}${propertyKey(m.name)}: (${arg}): AsyncIterable<T.${t.item}> => stream<T.${t.item}>(${JSON.stringify(m.path)}, ${pass}),`
          : `${indent}${propertyKey(m.name)}: (${arg}): Promise<T.${t.item}> => unary<T.${t.item}>(${JSON.stringify(m.path)}, ${pass}),`),
    );
  }
  for (const child of ns.children) {
    // A child named like a method of the same node gets a suffix (the method keeps the plain name).
    const key = taken.has(child.namespace) ? `${child.namespace}_ns` : child.namespace;
    taken.add(key);
    lines.push(
      `${doc(`${child.description}\n@plexus ${child.path} (hash ${child.hash})`, indent)}${indent}${propertyKey(key)}: {\n${emitTree(child, types, `${indent}  `)}\n${indent}},`,
    );
  }
  return lines.join('\n');
}

function clientSource(ir: CodegenIR, types: Map<string, MethodTypes>): string {
  return `// Generated by \`hub codegen\` from the schema of "${ir.root}" (hash ${ir.hash}). Do not edit.
import { PlexusClient, type ClientOptions } from './runtime/client/plexus-client.js';
import { ErrorCode, PlexusError } from './runtime/wire/errors.js';
import { itemOutcome } from './runtime/wire/outcome.js';
import type * as T from './types.js';

/** The root hash of the schema this client was generated from. */
export const SCHEMA_HASH = ${JSON.stringify(ir.hash)};

export interface HubClientOptions extends ClientOptions {
  /**
   * What to do when the server's root hash differs from SCHEMA_HASH (checked once,
   * before the first call): warn on the console (default), throw SchemaDriftError
   * from every call, or ignore it.
   */
  readonly onDrift?: 'warn' | 'throw' | 'ignore';
}

/** The server's schema is not the one this client was generated from. */
export class SchemaDriftError extends Error {
  override readonly name = 'SchemaDriftError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(\`Schema drift: this client was generated for hash \${expected}, the server has \${actual}; regenerate it with hub codegen\`);
  }
}

/** A typed client: namespaces mirror the hub's tree, streaming methods return AsyncIterables. */
export function createClient(options: HubClientOptions) {
  // The root name is asked from the server (_info) unless options.root gives it: the same
  // activations may be served under another root than the one generated from.
  const rpc = new PlexusClient(options);
  let drift: Promise<void> | undefined;
  const checkDrift = (): Promise<void> =>
    (drift ??= rpc.hash().then((actual) => {
      if (actual === SCHEMA_HASH || options.onDrift === 'ignore') return;
      const error = new SchemaDriftError(SCHEMA_HASH, actual);
      if (options.onDrift === 'throw') throw error;
      console.warn(error.message);
    }));

  async function* stream<Item>(path: string, params: object | undefined, unary = false): AsyncGenerator<Item> {
    await checkDrift();
    // Either wire form: data or .update items, a unary turn's terminal value; errors and failed turns throw.
    for await (const item of rpc.call(path, (params ?? {}) as Record<string, unknown>)) {
      const outcome = itemOutcome(item, unary);
      if (outcome) yield outcome.value as Item;
    }
  }

  async function unary<Item>(path: string, params: object | undefined): Promise<Item> {
    let result: { value: Item } | undefined;
    for await (const value of stream<Item>(path, params, true)) result ??= { value };
    if (!result) throw new PlexusError(ErrorCode.InternalError, \`\${path} ended without a result\`);
    return result.value;
  }

  return {
    /** The underlying untyped client: \`call(path, params)\` → AsyncIterable of stream items. */
    $rpc: rpc,
    /** Compares the server's root hash with SCHEMA_HASH (done before the first call anyway). */
    $checkDrift: checkDrift,
    $close: (): void => rpc.close(),
${emitTree(ir.tree, types, '    ')}
  };
}

export type HubClient = ReturnType<typeof createClient>;
`;
}

/** Emits a self-contained TypeScript client package for the IR. Same IR → same bytes. */
export async function emitTypeScript(ir: CodegenIR): Promise<EmittedFile[]> {
  const { source, methodTypes } = await emitTypes(ir);
  const name = `${ir.root}-client`;
  return [
    {
      path: 'types.ts',
      content: `// Generated by \`hub codegen\` from the schema of "${ir.root}" (hash ${ir.hash}). Do not edit.\n\n${source}\n`,
    },
    { path: 'client.ts', content: clientSource(ir, methodTypes) },
    ...runtimeFiles(),
    {
      path: 'index.ts',
      content: `// Generated by \`hub codegen\`. Do not edit.\nexport * from './client.js';\nexport type * from './types.js';\nexport { PlexusClient, PlexusConnectionError, type ClientRequest } from './runtime/client/plexus-client.js';\nexport { ErrorCode, PlexusError } from './runtime/wire/errors.js';\nexport type { RequestItem, StreamItem } from './runtime/wire/items.js';\n`,
    },
    {
      path: 'package.json',
      content: `${JSON.stringify(
        {
          name,
          version: '0.0.0',
          private: true,
          type: 'module',
          description: `Typed Plexus RPC client for ${ir.root} (schema hash ${ir.hash})`,
          exports: { '.': './index.ts' },
          peerDependencies: { ws: '>=8' },
          peerDependenciesMeta: { ws: { optional: true } },
        },
        null,
        2,
      )}\n`,
    },
  ];
}
