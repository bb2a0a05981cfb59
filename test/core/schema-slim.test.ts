/**
 * The extractor's slim program (src/schema/slim-typings.ts) must never change a schema:
 * for user modules that import `plexus-hub` (its compiled d.ts, as an installed package
 * resolves it), the slim program's schemas and dependencies deep-equal the full
 * program's; the full typings are read again exactly when a signature needs what the
 * slim program left out (Node's globals and modules, framework types built on them).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TS from 'typescript';
import { activationMetadata } from '../../src/activation/decorators.js';
import { type ExtractResult, type ExtractTarget, extractClasses } from '../../src/schema/extract.js';
import { NODE_AUGMENTED_LIB_TYPES } from '../../src/schema/slim-typings.js';
import { ensureBuilt } from '../support/built.js';
import { REPO_ROOT } from '../support/repo.js';

const ts = createRequire(import.meta.url)('typescript') as typeof TS;

/** A project beside the repository, whose `plexus-hub` is a symlink to it (as `npm link` or a workspace makes it). */
const dir = mkdtempSync(join(tmpdir(), 'plexus-slim-'));
mkdirSync(join(dir, 'node_modules'));
symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'plexus-hub'));
// Its own rxjs (kitchen.ts and framework-types.ts import Observable), as a user of Observables has.
symlinkSync(join(REPO_ROOT, 'node_modules', 'rxjs'), join(dir, 'node_modules', 'rxjs'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The repository's fixtures as a user writes them: importing `plexus-hub` instead of ../../src/. */
const FIXTURES = ['kitchen', 'inventory', 'questions', 'guarded', 'hoard', 'ticker', 'endless'];
for (const name of FIXTURES) {
  const text = readFileSync(join(REPO_ROOT, 'test', 'fixtures', `${name}.ts`), 'utf8');
  writeFileSync(join(dir, `${name}.ts`), text.replace(/'\.\.\/\.\.\/src\/[^']*\.js'/g, "'plexus-hub'"));
}
cpSync(join(REPO_ROOT, 'examples', 'greeter.ts'), join(dir, 'greeter.ts'));

writeFileSync(
  join(dir, 'framework-types.ts'),
  `import { Observable } from 'rxjs';
import {
  activation, method, progress, stopAs, ErrorCode, PlexusError,
  type CallContext, type DataItem, type HashesReport, type JsonSchema, type PluginSchema,
  type ProgressMark, type StopMark, type StreamItem, type Verb,
} from 'plexus-hub';

/** Framework types in signatures. */
@activation('fw')
export class FrameworkTypes {
  /** A schema in, a schema out. */
  @method()
  echo(schema: JsonSchema, ctx: CallContext): JsonSchema {
    return ctx ? schema : schema;
  }
  @method()
  items(): Observable<DataItem | ProgressMark> {
    return new Observable((s) => s.next(progress('x')));
  }
  @method()
  async *events(verb: Verb): AsyncGenerator<StreamItem | StopMark | ProgressMark> {
    yield stopAs('done' as never, verb as never) as never;
  }
  @method()
  async plugin(): Promise<PluginSchema> {
    throw new PlexusError(ErrorCode.Internal as never, 'no');
  }
  @method()
  hashes(): HashesReport {
    // Bodies may use Node's globals freely: they are not the signature.
    console.log(process.env.HOME, typeof setTimeout);
    return {} as HashesReport;
  }
  @method()
  code(): { code: ErrorCode; at: string } {
    return { code: ErrorCode.Internal as never, at: '' };
  }
}
`,
);

writeFileSync(
  join(dir, 'subpaths.ts'),
  `import type { ErrorItem, MethodSchema, RequestId, TurnTerminal } from 'plexus-hub/wire';
import type { MethodInfo } from 'plexus-hub/activation';
import { activation, method } from 'plexus-hub';

@activation('sub')
export class Subpaths {
  @method()
  describe(info: MethodInfo, id: RequestId): MethodSchema | ErrorItem {
    return info && id ? ({} as MethodSchema) : ({} as ErrorItem);
  }
  @method()
  end(): TurnTerminal {
    return {} as TurnTerminal;
  }
}
`,
);

/**
 * Each class names something the slim program left out: each must be read with the full
 * typings. Without that fallback all but two would get a different schema (`{}` for the
 * Buffer, URL, AbortSignal…, `streaming: false` for the Readable); AugmentedGlobal and
 * the framework types whose cut part is a function member happen to come out the same,
 * and are read in full all the same (what is missing is not worth telling apart).
 */
const NODE_CLASSES: Record<string, string> = {
  BufferParam: 'take(data: Buffer): number { return data.length; }',
  UrlParam: 'open(url: URL): string { return url.href; }',
  NodeNamespace: 'env(vars: NodeJS.Dict<string>): number { return Object.keys(vars).length; }',
  AbortParam: 'wait(signal: AbortSignal): boolean { return signal.aborted; }',
  NodeModuleParam: 'headers(h: IncomingHttpHeaders): string { return String(h.host); }',
  NodeModuleReturn: 'read(): Readable { return null as unknown as Readable; }',
  AugmentedGlobal: 'bytes(b: Uint8Array): number { return b.length; }',
  InferredReturn: "make() { return { data: Buffer.from('x'), at: new URL('http://x') }; }",
  FrameworkTypeOnNode: 'serve(options: WebSocketServeOptions): number { return options ? 1 : 0; }',
  NodeInTypeArgument: 'many(): Promise<Array<Record<string, Buffer>>> { return Promise.resolve([]); }',
  // The same framework type from its sources (as the built-ins and the fixtures import it).
  FrameworkSourceOnNode: 'serve(options: SourceServeOptions): number { return options ? 1 : 0; }',
};
writeFileSync(
  join(dir, 'node-types.ts'),
  `import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { activation, method, type WebSocketServeOptions } from 'plexus-hub';
import type { WebSocketServeOptions as SourceServeOptions } from ${JSON.stringify(join(REPO_ROOT, 'src', 'index.js'))};
${Object.entries(NODE_CLASSES)
  .map(([name, body]) => `@activation('${name.toLowerCase()}')\nexport class ${name} {\n  @method()\n  ${body}\n}\n`)
  .join('\n')}`,
);

/** The classes a module declares with `@activation`, and their `@method` members, read from its syntax. */
function targetsOf(file: string): ExtractTarget[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const decorated = (node: TS.Node, name: string): boolean =>
    (ts.canHaveDecorators(node) ? (ts.getDecorators(node) ?? []) : []).some((d) => d.expression.getText().startsWith(`${name}(`));
  return sf.statements.filter(ts.isClassDeclaration).flatMap((c) =>
    c.name && decorated(c, 'activation')
      ? [
          {
            className: c.name.text,
            sourceFile: file,
            methodKeys: c.members.filter((m) => ts.isMethodDeclaration(m) && decorated(m, 'method')).map((m) => m.name!.getText()),
          },
        ]
      : [],
  );
}

/** The repository's modules that declare activation classes (as test/support/warm-schemas.ts finds them). */
function repositoryModules(): string[] {
  const found: string[] = [];
  const walk = (rel: string, deep: boolean): void => {
    for (const entry of readdirSync(join(REPO_ROOT, rel), { withFileTypes: true })) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (deep) walk(path, deep);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && path !== 'test/fixtures/broken.ts') {
        if (readFileSync(join(REPO_ROOT, path), 'utf8').includes('@activation(')) found.push(path);
      }
    }
  };
  walk('src', true);
  walk('activations', true);
  walk('test/fixtures', false);
  walk('examples', false);
  return found;
}

/** Parsed typings shared by all extractions here, as the extractor process shares them. */
const parsed = new Map<string, TS.SourceFile>();

function assertSameAsFull(targets: readonly ExtractTarget[], slim: ExtractResult): void {
  const full = extractClasses(targets, parsed, 'full');
  assert.equal(full.program.typings, 'full');
  assert.deepEqual(slim.classes, full.classes);
  assert.deepEqual(slim.dependencies, full.dependencies);
}

describe('the slim extractor program', () => {
  before(() => ensureBuilt());

  it('reads the greeter without the third-party typings, and a schema equal to the full program’s', () => {
    const targets = targetsOf(join(dir, 'greeter.ts'));
    const slim = extractClasses(targets, parsed);
    assert.equal(slim.program.typings, 'slim', slim.program.fullBecause);
    const full = extractClasses(targets, parsed, 'full');
    // @types/node, undici-types, zod and the MCP SDK alone are ~190 files.
    assert.ok(full.program.files - slim.program.files >= 150, `slim ${slim.program.files} files, full ${full.program.files}`);
    assert.deepEqual(slim.classes, full.classes);
    assert.deepEqual(slim.dependencies, full.dependencies);
    assert.ok(
      slim.dependencies.some((f) => f.startsWith(join(REPO_ROOT, 'dist', 'src'))),
      'the framework d.ts files are watched',
    );
  });

  it('gives the fixtures, framework types (ProgressMark, Observable, JsonSchema, stream items…) and subpath imports the full program’s schemas', () => {
    const targets = [...FIXTURES, 'framework-types', 'subpaths'].flatMap((name) => targetsOf(join(dir, `${name}.ts`)));
    assert.ok(targets.length >= FIXTURES.length + 2);
    const slim = extractClasses(targets, parsed);
    assert.equal(slim.program.typings, 'slim', slim.program.fullBecause);
    assertSameAsFull(targets, slim);
  });

  it('gives every activation class of the repository (built-ins from src/ and activations/, fixtures, examples) the full program’s schemas', async () => {
    const targets: ExtractTarget[] = [];
    for (const path of repositoryModules()) {
      const module = (await import(pathToFileURL(join(REPO_ROOT, path)).href)) as Record<string, unknown>;
      for (const value of Object.values(module)) {
        const meta = activationMetadata(value);
        if (meta) targets.push({ className: meta.className, sourceFile: meta.sourceFile, methodKeys: meta.methods.map((m) => m.key) });
      }
    }
    assert.ok(targets.some((t) => t.className === 'Echo') && targets.some((t) => t.className === 'Kitchen'));
    const slim = extractClasses(targets, parsed);
    assert.equal(slim.program.typings, 'slim', slim.program.fullBecause);
    assertSameAsFull(targets, slim);
  });

  it('falls back to the full typings for each signature that names what the slim program left out', () => {
    const all = targetsOf(join(dir, 'node-types.ts'));
    assert.deepEqual(all.map((t) => t.className).sort(), Object.keys(NODE_CLASSES).sort());
    for (const target of all) {
      const result = extractClasses([target], parsed);
      assert.equal(result.program.typings, 'full', `${target.className} was read with the slim program`);
      assert.ok(result.program.fullBecause, target.className);
      assertSameAsFull([target], result);
    }
  });

  it('falls back for a whole batch when one class needs the full typings, and still matches it', () => {
    const targets = [...targetsOf(join(dir, 'greeter.ts')), ...targetsOf(join(dir, 'node-types.ts')).slice(0, 1)];
    const result = extractClasses(targets, parsed);
    assert.equal(result.program.typings, 'full');
    assertSameAsFull(targets, result);
  });

  it('reports a class its program cannot read as the full program does (the slim one’s errors are never the answer)', () => {
    const file = join(dir, 'hidden.ts');
    writeFileSync(file, 'class Hidden {\n  run(n: number): number {\n    return n;\n  }\n}\nexport const used = Hidden;\n');
    const target = { className: 'Hidden', sourceFile: file, methodKeys: ['run'] };
    const message = (typings: 'slim' | 'full'): string => {
      try {
        extractClasses([target], parsed, typings);
      } catch (err) {
        assert.equal((err as Error).name, 'SchemaExtractionError');
        return (err as Error).message;
      }
      assert.fail(`${typings}: a class that is not exported was read`);
    };
    const full = message('full');
    assert.match(full, /is the class exported\?/);
    assert.equal(message('slim'), full);
  });

  it('knows every lib type @types/node augments (a newer @types/node must be reviewed here)', () => {
    // Array, ReadonlyArray and String: a schema never describes their members.
    const DESCRIBED_OTHERWISE = new Set(['Array', 'ReadonlyArray', 'String']);
    const options: TS.CompilerOptions = { lib: ['lib.esnext.d.ts'], types: [], noEmit: true };
    const nodeTypes = join(REPO_ROOT, 'node_modules', '@types', 'node', 'index.d.ts');
    const program = ts.createProgram([nodeTypes], options, ts.createCompilerHost(options, true));
    const libNames = new Set<string>();
    const augmented = new Set<string>();
    const names = (statements: readonly TS.Statement[], into: Set<string>): void => {
      for (const s of statements) {
        if ((ts.isInterfaceDeclaration(s) || ts.isClassDeclaration(s)) && s.name) into.add(s.name.text);
      }
    };
    const globalBlocks = (statements: readonly TS.Statement[]): void => {
      for (const s of statements) {
        if (!ts.isModuleDeclaration(s) || !s.body || !ts.isModuleBlock(s.body)) continue;
        if (s.name.text === 'global') names(s.body.statements, augmented);
        else if (ts.isStringLiteral(s.name)) globalBlocks(s.body.statements);
      }
    };
    for (const sf of program.getSourceFiles()) {
      if (program.isSourceFileDefaultLibrary(sf)) names(sf.statements, libNames);
      else if (sf.fileName.includes('/@types/node/')) {
        if (!ts.isExternalModule(sf)) names(sf.statements, augmented);
        globalBlocks(sf.statements);
      }
    }
    const expected = [...augmented].filter((n) => libNames.has(n) && !DESCRIBED_OTHERWISE.has(n)).sort();
    assert.ok(expected.includes('Uint8Array'));
    assert.deepEqual([...NODE_AUGMENTED_LIB_TYPES].sort(), expected);
  });
});

// The fixtures list above must follow the repository's: a new fixture class is compared too.
it('covers every fixture class that imports only the framework', () => {
  const withClasses = readdirSync(join(REPO_ROOT, 'test', 'fixtures')).filter(
    (f) => f.endsWith('.ts') && readFileSync(join(REPO_ROOT, 'test', 'fixtures', f), 'utf8').includes('@activation('),
  );
  const elsewhere = new Set(['broken.ts']); // fails extraction on purpose
  assert.deepEqual(withClasses.filter((f) => !elsewhere.has(f)).sort(), FIXTURES.map((n) => `${n}.ts`).sort());
});
