import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';
import type * as TJSModule from 'typescript-json-schema';
import type { JsonSchema } from '../wire/schema-types.js';
import { canonicalSchema } from './normalize.js';
import { cutFrameworkTypings, type SchemaRoots, slimShortfall } from './slim-typings.js';
import { resolveTypeSource, SchemaExtractionError } from './type-source.js';

// Required, not imported: Node's ESM loader would first scan the 9 MB of typescript.js
// for its export names and detect its format (~0.4 s of CPU per extractor process).
const require = createRequire(import.meta.url);
const ts = require('typescript') as typeof TS;
const TJS = require('typescript-json-schema') as typeof TJSModule;

/** One positional argument of a method: a named param, or the CallContext. */
export type ArgSpec = { readonly kind: 'param'; readonly name: string } | { readonly kind: 'context' };

export interface ExtractedMethod {
  readonly description: string;
  readonly params?: JsonSchema;
  readonly returns: JsonSchema;
  readonly streaming: boolean;
  readonly args: readonly ArgSpec[];
}

export interface ExtractedClass {
  readonly description: string;
  readonly longDescription?: string;
  /** By JS property name. */
  readonly methods: Readonly<Record<string, ExtractedMethod>>;
}

export interface ExtractTarget {
  readonly className: string;
  /** The module that declared the class, as found at runtime (.ts, or compiled .js). */
  readonly sourceFile: string;
  readonly methodKeys: readonly string[];
}

export interface ExtractResult {
  readonly classes: ExtractedClass[];
  /** Every non-library file the types came from: what a cache must watch. */
  readonly dependencies: string[];
  /** The program the schemas were read from (tests and benchmarks observe it). */
  readonly program: ProgramStats;
}

/**
 * `slim`: without the third-party typings the framework's own files import
 * (slim-typings.ts); `full`: everything, as TypeScript resolves it.
 */
export type Typings = 'slim' | 'full';

export interface ProgramStats {
  readonly typings: Typings;
  /** Source files in the program, TypeScript's lib included. */
  readonly files: number;
  /** Why a slim attempt was set aside for the full typings. */
  readonly fullBecause?: string;
}

const HELPERS = resolveTypeSource(fileURLToPath(new URL('./type-helpers.js', import.meta.url)));

const COMPILER_OPTIONS: TS.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  allowImportingTsExtensions: true,
  experimentalDecorators: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  // Only what the sources import: loading every @types package costs seconds.
  types: [],
  lib: ['lib.esnext.d.ts'],
};

const TJS_SETTINGS: TJSModule.PartialArgs = {
  required: true,
  ref: true,
  strictNullChecks: true,
  ignoreErrors: true,
  uniqueNames: false,
};

/**
 * Extracts all targets with a single TypeScript program: the slim one first, the full
 * one when the slim one lacks a type the schemas need. `libraryFiles`, when given,
 * keeps the parsed files under node_modules (typings, TypeScript's lib) for the next
 * call: a process that extracts again soon skips re-parsing hundreds of them.
 * `typings: 'full'` skips the slim attempt (tests compare the two).
 */
export function extractClasses(
  targets: readonly ExtractTarget[],
  libraryFiles: Map<string, TS.SourceFile> = new Map(),
  typings: Typings = 'slim',
): ExtractResult {
  const sources = new Map<string, TS.SourceFile>();
  const parse = (file: string): TS.SourceFile => {
    let sf = sources.get(file);
    if (!sf) {
      sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      sources.set(file, sf);
    }
    return sf;
  };

  const SYNTHETIC = resolve(dirname(HELPERS), '__plexus_schema_entry__.ts');
  const lines = [`import type { ItemOf, ArgsOf } from ${JSON.stringify(stripExt(HELPERS))};`];
  const plans = targets.map((target, t) => {
    const typeFile = resolveTypeSource(target.sourceFile);
    const sf = parse(typeFile);
    const decl = findClass(sf, target.className);
    const alias = `M${t}`;
    lines.push(`import type * as ${alias} from ${JSON.stringify(stripExt(typeFile))};`);
    const methods = target.methodKeys.map((key, m) => {
      const member = findMethod(decl, key, target.className);
      const self = `${alias}.${target.className}[${JSON.stringify(key)}]`;
      const args: ArgSpec[] = [];
      const props: string[] = [];
      const defaults: Record<string, unknown> = {};
      member.parameters.forEach((p, i) => {
        if (!ts.isIdentifier(p.name)) {
          throw new SchemaExtractionError(
            `${target.className}.${key}: parameter ${i + 1} must be a plain name, not a destructuring pattern`,
          );
        }
        if (p.dotDotDotToken) throw new SchemaExtractionError(`${target.className}.${key}: rest parameters cannot be named params`);
        if (isContextType(p.type)) {
          args.push({ kind: 'context' });
          return;
        }
        const name = p.name.text;
        args.push({ kind: 'param', name });
        const optional = p.questionToken !== undefined || p.initializer !== undefined;
        const doc = paramDoc(p);
        if (p.initializer) {
          const value = literalValue(p.initializer);
          if (value !== undefined) defaults[name] = value;
        }
        props.push(`${docComment(doc)}${JSON.stringify(name)}${optional ? '?' : ''}: ArgsOf<${self}>[${i}];`);
      });
      const pName = `__plexus_P${t}_${m}`;
      const rName = `__plexus_R${t}_${m}`;
      // Each member on its own line: TypeScript only attaches a JSDoc that starts a line.
      lines.push(`export interface ${pName} {\n${props.join('\n')}\n}`);
      lines.push(`export interface ${rName} { item: ItemOf<ReturnType<${self}>> }`);
      return { key, member, args, defaults, pName, rName, hasParams: props.length > 0 };
    });
    return { target, typeFile, decl, methods };
  });

  const text = `${lines.join('\n')}\n`;
  if (process.env.PLEXUS_DEBUG_SCHEMA) console.error(text);
  const createProgram = (cut: boolean): TS.Program => {
    const host = ts.createCompilerHost(COMPILER_OPTIONS, true);
    const baseGetSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, lang, onError, create) => {
      if (file === SYNTHETIC) return ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      const own = sources.get(file) ?? libraryFiles.get(file);
      if (own) return own;
      const sf = baseGetSourceFile(file, lang, onError, create);
      if (sf && file.includes('/node_modules/')) libraryFiles.set(file, sf);
      return sf;
    };
    const baseFileExists = host.fileExists.bind(host);
    host.fileExists = (file) => file === SYNTHETIC || baseFileExists(file);
    if (cut) cutFrameworkTypings(host, COMPILER_OPTIONS);
    return ts.createProgram([SYNTHETIC], COMPILER_OPTIONS, host);
  };
  const entryProblems = (program: TS.Program): readonly TS.Diagnostic[] => {
    const entry = program.getSourceFile(SYNTHETIC)!;
    return program.getSemanticDiagnostics(entry).concat(program.getSyntacticDiagnostics(entry));
  };

  let program: TS.Program | undefined;
  let fullBecause: string | undefined;
  if (typings === 'slim') {
    const slim = createProgram(true);
    const problems = entryProblems(slim);
    fullBecause =
      problems.length > 0
        ? ts.flattenDiagnosticMessageText(problems[0]!.messageText, '\n')
        : slimShortfall(slim, schemaRoots(slim, plans, SYNTHETIC, HELPERS));
    if (fullBecause === undefined) program = slim;
  }
  program ??= createProgram(false);
  const stats: ProgramStats = {
    typings: fullBecause === undefined && typings === 'slim' ? 'slim' : 'full',
    files: program.getSourceFiles().length,
    ...(fullBecause === undefined ? {} : { fullBecause }),
  };
  if (process.env.PLEXUS_DEBUG_SCHEMA) console.error(`schema program: ${JSON.stringify(stats)}`);

  const entry = program.getSourceFile(SYNTHETIC)!;
  const problems = entryProblems(program);
  if (problems.length > 0) {
    const msg = problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ');
    throw new SchemaExtractionError(
      `Cannot read the types of ${targets.map((t) => t.className).join(', ')}: ${msg} (is the class exported?)`,
    );
  }

  // typescript-json-schema resolves the type of every declaration in every file it is shown
  // (600 files of src/ and node_modules typings: over a second); the only names we ask for
  // are the entry's, and types they reference are reached through the checker.
  const entryOnly = new Proxy(program, {
    get: (target, key) => (key === 'getSourceFiles' ? () => [entry] : Reflect.get(target, key)),
  });
  const generator = TJS.buildGenerator(entryOnly, TJS_SETTINGS, [SYNTHETIC]);
  if (!generator) throw new SchemaExtractionError('typescript-json-schema could not build a generator');
  const checker = program.getTypeChecker();

  const classes = plans.map(({ target, typeFile, methods }) => {
    const decl = findClass(program.getSourceFile(typeFile)!, target.className);
    const doc = splitDoc(jsDocText(decl));
    const out: Record<string, ExtractedMethod> = {};
    for (const plan of methods) {
      const member = findMethod(decl, plan.key, target.className);
      let params: JsonSchema | undefined;
      if (plan.hasParams) {
        const raw = generator.getSchemaForSymbol(plan.pName) as JsonSchema;
        params = withDefaults(canonicalSchema(raw), plan.defaults);
      }
      const wrapper = generator.getSchemaForSymbol(plan.rName) as JsonSchema & { properties: { item: JsonSchema } };
      const returns = canonicalSchema({ ...wrapper.properties.item, definitions: wrapper.definitions } as JsonSchema);
      out[plan.key] = {
        description: jsDocText(member),
        ...(params ? { params } : {}),
        returns,
        streaming: returnsStream(checker, member),
        args: plan.args,
      };
    }
    return { description: doc.description, ...(doc.long ? { longDescription: doc.long } : {}), methods: out };
  });

  const dependencies = program
    .getSourceFiles()
    .filter((sf) => sf.fileName !== SYNTHETIC && !program.isSourceFileDefaultLibrary(sf) && !/[\\/]node_modules[\\/]/.test(sf.fileName))
    .map((sf) => sf.fileName);
  if (!dependencies.includes(HELPERS)) dependencies.push(HELPERS);
  return { classes, dependencies: dependencies.sort(), program: stats };
}

/** What the slim program must be checked for: each method's declared types (the CallContext aside), the helpers, the synthetic interfaces. */
function schemaRoots(
  program: TS.Program,
  plans: readonly { target: ExtractTarget; typeFile: string; methods: readonly { key: string; pName: string; rName: string }[] }[],
  synthetic: string,
  helpers: string,
): SchemaRoots {
  const checker = program.getTypeChecker();
  const nodes: TS.Node[] = [...program.getSourceFile(helpers)!.statements];
  const types: TS.Type[] = [];
  const entry = program.getSourceFile(synthetic)!;
  for (const stmt of entry.statements) {
    if (ts.isInterfaceDeclaration(stmt)) types.push(checker.getTypeAtLocation(stmt.name));
  }
  for (const { target, typeFile, methods } of plans) {
    const decl = findClass(program.getSourceFile(typeFile)!, target.className);
    for (const { key } of methods) {
      const member = findMethod(decl, key, target.className);
      nodes.push(...(member.typeParameters ?? []), ...member.parameters.filter((p) => !isContextType(p.type)));
      const annotation = member.type ?? member.body;
      if (annotation) nodes.push(annotation);
      const signature = checker.getSignatureFromDeclaration(member);
      if (signature) types.push(checker.getReturnTypeOfSignature(signature));
    }
  }
  return { nodes, types };
}

function stripExt(file: string): string {
  return file.replace(/(\.d)?\.(m|c)?tsx?$/, '');
}

function findClass(sf: TS.SourceFile, name: string): TS.ClassDeclaration {
  for (const stmt of sf.statements) {
    if (ts.isClassDeclaration(stmt) && stmt.name?.text === name) return stmt;
  }
  throw new SchemaExtractionError(`Class ${name} is not declared at the top level of ${sf.fileName}`);
}

function findMethod(decl: TS.ClassDeclaration, key: string, className: string): TS.MethodDeclaration {
  const members = decl.members.filter((m): m is TS.MethodDeclaration => ts.isMethodDeclaration(m) && m.name.getText() === key);
  // With overloads, the implementation (the one with a body) is what runs; in a .d.ts, the last one.
  const member = members.find((m) => m.body) ?? members.at(-1);
  if (!member) throw new SchemaExtractionError(`${className}.${key} is not a method declared in the class body`);
  return member;
}

function isContextType(type: TS.TypeNode | undefined): boolean {
  if (!type || !ts.isTypeReferenceNode(type)) return false;
  const name = ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text;
  return name === 'CallContext';
}

function jsDocText(node: TS.Node): string {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const last = docs.at(-1);
  return last ? (ts.getTextOfJSDocComment(last.comment) ?? '').trim() : '';
}

function paramDoc(p: TS.ParameterDeclaration): string {
  const tag = ts.getJSDocParameterTags(p)[0];
  return (ts.getTextOfJSDocComment(tag?.comment) ?? '').replace(/^\s*-\s*/, '').trim();
}

function docComment(text: string): string {
  return text ? `/** ${text.replace(/\*\//g, '*\\/').replace(/\n/g, ' ')} */ ` : '';
}

/** First paragraph is the summary; the rest, if any, the long description. */
function splitDoc(text: string): { description: string; long?: string } {
  const [first = '', ...rest] = text.split(/\n\s*\n/);
  const long = rest.join('\n\n').trim();
  return long ? { description: first.trim(), long } : { description: first.trim() };
}

/** A JSON value written literally as a parameter default; undefined for anything computed. */
function literalValue(node: TS.Expression): unknown {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(node.operand)) {
    return -Number(node.operand.text);
  }
  if (ts.isArrayLiteralExpression(node)) {
    const items = node.elements.map(literalValue);
    return items.every((i) => i !== undefined) ? items : undefined;
  }
  if (ts.isObjectLiteralExpression(node)) {
    const out: Record<string, unknown> = {};
    for (const p of node.properties) {
      if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) return undefined;
      const v = literalValue(p.initializer);
      if (v === undefined) return undefined;
      out[p.name.text] = v;
    }
    return out;
  }
  return undefined;
}

function withDefaults(schema: JsonSchema, defaults: Record<string, unknown>): JsonSchema {
  if (Object.keys(defaults).length === 0) return schema;
  const props = { ...(schema.properties as Record<string, JsonSchema>) };
  for (const [name, value] of Object.entries(defaults)) props[name] = { ...props[name], default: value };
  return { ...schema, properties: props };
}

/** Streams are what the return type says: AsyncIterable, Generator or Observable (after awaiting). */
function returnsStream(checker: TS.TypeChecker, member: TS.MethodDeclaration): boolean {
  const sig = checker.getSignatureFromDeclaration(member);
  if (!sig) return false;
  const ret = checker.getReturnTypeOfSignature(sig);
  const awaited = checker.getAwaitedType(ret) ?? ret;
  const parts = awaited.isUnion() ? awaited.types : [awaited];
  return parts.some((t) => {
    const props = checker.getPropertiesOfType(t).map((p) => p.escapedName.toString());
    if (props.some((p) => p.startsWith('__@asyncIterator'))) return true;
    if (props.includes('subscribe') && props.includes('pipe')) return true;
    return t.getSymbol()?.getName() === 'Generator';
  });
}
