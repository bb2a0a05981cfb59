/**
 * The schema extractor's slim program: the framework's own files (this package's
 * dist/**\/*.d.ts, which `plexus-hub` resolves to, and src/ and activations/, where the
 * built-ins' types live) import node:*, ws, the MCP SDK, commander, TypeScript… for its
 * transports and bridges, and through them the program parsed ~3 MB of typings
 * (@types/node alone 2.2 MB) that method signatures almost never name. Here those
 * imports are left unresolved, so the typings are never read; a user's own files (and
 * any package they import) resolve as always.
 *
 * What the cut removed shows as an error type, an unresolvable name, or a global that
 * @types/node would have augmented. `slimShortfall` looks for these in everything the
 * schemas are made of; when it finds one, the extractor reads the batch again with the
 * full typings, so a schema never depends on the cut.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';

const require = createRequire(import.meta.url);
const ts = require('typescript') as typeof TS;

/** This package's root: this module is its src/schema/ or dist/src/schema/. */
const PACKAGE_ROOT = realpathSync(fileURLToPath(new URL('.', import.meta.url))).replace(/[\\/](dist[\\/])?src[\\/]schema[\\/]?$/, '');
/** The framework's own code: its compiled declarations, its sources (where source maps lead), its built-in activations. */
const FRAMEWORK_DIRS = ['dist', 'src', 'activations'].map((dir) => join(PACKAGE_ROOT, dir) + sep);

/** Third-party packages whose types the framework's signatures share with users: resolved even from its d.ts. */
const KEPT_PACKAGES = new Set(['rxjs']);

/**
 * Lib interfaces that @types/node merges members into (compatibility/*.d.ts, globals.d.ts,
 * module.d.ts): in the slim program they lack those members, so a schema that describes
 * one structurally is read with the full typings. Array, ReadonlyArray and String are
 * augmented too, but a schema never describes their members (arrays are `items`, strings
 * primitives). test/core/schema-slim.test.ts checks this list against @types/node.
 */
export const NODE_AUGMENTED_LIB_TYPES: ReadonlySet<string> = new Set([
  'SymbolConstructor',
  'Disposable',
  'AsyncDisposable',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'IteratorObject',
  'AsyncIteratorObject',
  'ErrorConstructor',
  'ImportMeta',
]);

function isFrameworkFile(file: string): boolean {
  return FRAMEWORK_DIRS.some((dir) => file.startsWith(dir));
}

function isBareSpecifier(specifier: string): boolean {
  return !specifier.startsWith('.') && !specifier.startsWith('/');
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * Resolves modules as TypeScript would, except that a third-party package (or Node
 * built-in) imported from the framework's own files stays unresolved.
 */
export function cutFrameworkTypings(host: TS.CompilerHost, options: TS.CompilerOptions): void {
  const cache = ts.createModuleResolutionCache(host.getCurrentDirectory(), (f) => host.getCanonicalFileName(f), options);
  const unresolved: TS.ResolvedModuleWithFailedLookupLocations = { resolvedModule: undefined };
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts, containingSourceFile) =>
    literals.map((literal) => {
      const specifier = literal.text;
      const cut = isFrameworkFile(containingFile) && isBareSpecifier(specifier) && !KEPT_PACKAGES.has(packageName(specifier));
      const mode = ts.getModeForUsageLocation(containingSourceFile, literal, opts);
      const resolved = ts.resolveModuleName(specifier, containingFile, opts, host, cache, redirected, mode);
      const file = resolved.resolvedModule?.resolvedFileName;
      // Kept: a bare name that leads back into the framework (a self-reference), and one that
      // leads out of node_modules (a linked workspace package): a file a cache must watch.
      if (cut && (file === undefined || (/[\\/]node_modules[\\/]/.test(file) && !isFrameworkFile(file)))) return unresolved;
      return resolved;
    });
}

/** The declarations and types a batch's schemas are made of. */
export interface SchemaRoots {
  /** Syntax to follow: the methods' parameter and return annotations, the type helpers. */
  readonly nodes: readonly TS.Node[];
  /** Types to walk: the synthetic params/item interfaces, the methods' return types. */
  readonly types: readonly TS.Type[];
}

/**
 * Why the slim program cannot be trusted for these roots, or undefined when nothing
 * they reach depends on the cut typings. Follows, from the roots, every type name the
 * declarations use (through the user's and the framework's files; third-party and lib
 * files resolve their own imports) and every type the checker gives them, structurally.
 */
export function slimShortfall(program: TS.Program, roots: SchemaRoots): string | undefined {
  const checker = program.getTypeChecker();
  const isLib = (sf: TS.SourceFile): boolean => program.isSourceFileDefaultLibrary(sf);
  const isThirdParty = (sf: TS.SourceFile): boolean => /[\\/]node_modules[\\/]/.test(sf.fileName) && !isFrameworkFile(sf.fileName);

  const seenDecls = new Set<TS.Node>();
  const pending: TS.Node[] = [];
  const follow = (symbol: TS.Symbol | undefined, where: TS.Node): string | undefined => {
    let target = symbol;
    if (target && target.flags & ts.SymbolFlags.Alias) target = checker.getAliasedSymbol(target);
    if (!target?.declarations?.length) return `${where.getText()} does not resolve (${where.getSourceFile().fileName})`;
    for (const decl of target.declarations) {
      const sf = decl.getSourceFile();
      if (isLib(sf)) {
        if (NODE_AUGMENTED_LIB_TYPES.has(target.name)) return `${target.name} is augmented by @types/node`;
      } else if (!isThirdParty(sf) && !seenDecls.has(decl)) {
        seenDecls.add(decl);
        pending.push(decl);
      }
    }
    return undefined;
  };
  const inspect = (node: TS.Node): string | undefined => {
    // Bodies are code, not declared types (console, setTimeout… are common there); a type
    // inferred from one is checked by the type walk below.
    if (isBody(node)) return undefined;
    let why: string | undefined;
    if (ts.isTypeReferenceNode(node)) why = follow(checker.getSymbolAtLocation(node.typeName), node.typeName);
    else if (ts.isExpressionWithTypeArguments(node)) why = follow(checker.getSymbolAtLocation(node.expression), node.expression);
    else if (ts.isTypeQueryNode(node)) why = follow(checker.getSymbolAtLocation(node.exprName), node.exprName);
    else if (ts.isImportTypeNode(node) && isErrorType(checker.getTypeFromTypeNode(node))) {
      why = `${node.getText()} does not resolve (${node.getSourceFile().fileName})`;
    }
    return why ?? ts.forEachChild(node, inspect);
  };
  for (const node of roots.nodes) {
    // A root body (a method without a return annotation) is read for the types it names.
    const why = isBody(node) ? ts.forEachChild(node, inspect) : inspect(node);
    if (why) return why;
  }
  for (let decl = pending.pop(); decl; decl = pending.pop()) {
    const why = inspect(decl);
    if (why) return why;
  }

  const seenTypes = new Set<TS.Type>();
  const walk = (type: TS.Type): string | undefined => {
    if (seenTypes.has(type)) return undefined;
    seenTypes.add(type);
    if (isErrorType(type)) return 'a type does not resolve';
    for (const arg of type.aliasTypeArguments ?? []) {
      const why = walk(arg);
      if (why) return why;
    }
    if (type.isUnionOrIntersection()) return firstOf(type.types, walk);
    if (!(type.flags & ts.TypeFlags.Object)) return undefined;
    if (((type as TS.ObjectType).objectFlags & ts.ObjectFlags.Reference) !== 0) {
      const why = firstOf(checker.getTypeArguments(type as TS.TypeReference), walk);
      if (why) return why;
    }
    const decls = type.getSymbol()?.declarations ?? [];
    if (decls.some((d) => isLib(d.getSourceFile()))) {
      const name = type.getSymbol()!.name;
      return NODE_AUGMENTED_LIB_TYPES.has(name) ? `${name} is augmented by @types/node` : undefined;
    }
    for (const prop of checker.getPropertiesOfType(type)) {
      const propType = checker.getTypeOfSymbol(prop);
      if (isErrorType(propType)) return `the type of ${checker.typeToString(type)}.${prop.name} does not resolve`;
      const why = walk(propType);
      if (why) return why;
    }
    for (const info of checker.getIndexInfosOfType(type)) {
      const why = walk(info.keyType) ?? walk(info.type);
      if (why) return why;
    }
    return undefined;
  };
  return firstOf(roots.types, walk);
}

function isBody(node: TS.Node): boolean {
  return node.parent !== undefined && ts.isFunctionLike(node.parent) && (node.parent as TS.FunctionLikeDeclaration).body === node;
}

function isErrorType(type: TS.Type): boolean {
  return (type.flags & ts.TypeFlags.Any) !== 0 && (type as { intrinsicName?: string }).intrinsicName === 'error';
}

function firstOf<T>(items: readonly T[], f: (item: T) => string | undefined): string | undefined {
  for (const item of items) {
    const why = f(item);
    if (why) return why;
  }
  return undefined;
}
