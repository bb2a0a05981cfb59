import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { checkVerbs } from './verbs.js';
import { assertSegment } from './types.js';

export interface ActivationOptions {
  /** Semver of the activation's API; defaults to `0.0.0`. */
  readonly version?: string;
  /** Overrides the class's JSDoc summary. */
  readonly description?: string;
  /**
   * The module that declares the class (`import.meta.url`). Only needed when the
   * call stack cannot tell it, e.g. in a single-file bundle.
   */
  readonly source?: string;
  /** Keep the older wire form for a turn-form connection (docs/protocol.md "Wire forms"). */
  readonly legacyWire?: boolean;
}

export interface MethodOptions {
  /** Wire name; defaults to the method's name in snake_case (`treeCreate` → `tree_create`). */
  readonly name?: string;
  /** Overrides the method's JSDoc. */
  readonly description?: string;
  /** Overrides what the return type says (streams: AsyncIterable, Generator, Observable). */
  readonly streaming?: boolean;
  /** What a caller must be granted to call this method (default `read`). */
  readonly verbs?: readonly ('read' | 'write' | 'execute')[];
  /**
   * The method asks its caller questions mid-stream with `ctx.request()`. Shown as
   * `bidirectional: true` in its schema (not part of its hash, as in the spec).
   */
  readonly bidirectional?: boolean;
}

export interface DecoratedMethod {
  /** The JS property name. */
  readonly key: string;
  /** The wire name. */
  readonly name: string;
  readonly options: MethodOptions;
}

export interface ActivationMetadata {
  /** Fixed namespace, or undefined when each instance carries its own `namespace`. */
  readonly namespace?: string;
  readonly options: ActivationOptions;
  /** Absolute path of the module that declared the class. */
  readonly sourceFile: string;
  readonly className: string;
  readonly methods: readonly DecoratedMethod[];
}

const ACTIVATION_KEY = Symbol.for('plexus-hub:activation');
const METHODS_KEY = Symbol.for('plexus-hub:methods');

/** Methods seen by standard (TC39) method decorators, waiting for their class decorator. */
let pendingStandardMethods: DecoratedMethod[] = [];

type Ctor = abstract new (...args: never[]) => unknown;

export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/**
 * Marks a method as callable over Plexus RPC. Its parameters, return type and JSDoc
 * become the method's schema. Works with both `experimentalDecorators` and standard
 * decorators.
 */
export function method(options: MethodOptions = {}) {
  return (target: object, keyOrContext: string | symbol | { kind: string; name: string | symbol }, _descriptor?: unknown): void => {
    const standard = typeof keyOrContext === 'object';
    const key = standard ? keyOrContext.name : keyOrContext;
    if (standard && keyOrContext.kind !== 'method') throw new TypeError('@method() applies to methods only');
    if (typeof key !== 'string') throw new TypeError('@method() needs a string-named method');
    const name = options.name ?? snakeCase(key);
    assertSegment('Method name', name);
    if (name === 'schema') throw new TypeError('"schema" is a built-in method of every activation');
    if (options.verbs) checkVerbs(`@method() ${key}`, options.verbs);
    const entry: DecoratedMethod = { key, name, options };
    if (standard) {
      pendingStandardMethods.push(entry);
    } else {
      const ctor = (target as { constructor: Ctor }).constructor;
      const list: DecoratedMethod[] = Reflect.getOwnMetadata(METHODS_KEY, ctor) ?? [];
      Reflect.defineMetadata(METHODS_KEY, [...list, entry], ctor);
    }
  };
}

/**
 * Marks a class as an activation. With no namespace, each instance must have a
 * `namespace` property (one class, many activations: see `solar`).
 */
export function activation(namespace?: string, options: ActivationOptions = {}) {
  if (namespace !== undefined) assertSegment('Namespace', namespace);
  return <C extends Ctor>(target: C, context?: { kind: string }): C => {
    const standard = typeof context === 'object';
    const methods: DecoratedMethod[] = standard ? pendingStandardMethods : (Reflect.getOwnMetadata(METHODS_KEY, target) ?? []);
    if (standard) pendingStandardMethods = [];
    const names = new Set<string>();
    for (const m of methods) {
      if (names.has(m.name)) throw new TypeError(`${target.name}: two methods map to the wire name "${m.name}"`);
      names.add(m.name);
    }
    const sourceFile = options.source ? toPath(options.source) : callerFile();
    const meta: ActivationMetadata = { namespace, options, sourceFile, className: target.name, methods };
    Reflect.defineMetadata(ACTIVATION_KEY, meta, target);
    return target;
  };
}

export function activationMetadata(ctor: unknown): ActivationMetadata | undefined {
  if (typeof ctor !== 'function') return undefined;
  return Reflect.getOwnMetadata(ACTIVATION_KEY, ctor);
}

function toPath(fileOrUrl: string): string {
  return fileOrUrl.startsWith('file:') ? fileURLToPath(fileOrUrl) : fileOrUrl;
}

/**
 * This module's path as stack traces spell it, which is not always its URL: with
 * source maps enabled (tsx does), a compiled copy reports its original `.ts`.
 */
const OWN_FILE = framesOf(new Error()).find(() => true) ?? fileURLToPath(import.meta.url);
/** The file of each stack frame, innermost first. */
function framesOf(error: Error): string[] {
  const files: string[] = [];
  for (const line of (error.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):\d+:\d+\)?$/.exec(line.trim());
    if (m) files.push(toPath(m[1]!));
  }
  return files;
}

/** Frames to skip: this module and the decorator helpers that call into it. */
const HELPER_FRAME = /[\\/]node_modules[\\/](reflect-metadata|tslib)[\\/]/;

/**
 * The file whose top level applied the class decorator, read from the stack. tsx
 * and tsc both keep the real module path there, so the schema extractor can open
 * the class's source (or its `.d.ts`) with the type checker.
 */
function callerFile(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const error = new Error();
  Error.stackTraceLimit = limit;
  for (const file of framesOf(error)) {
    if (file === OWN_FILE || HELPER_FRAME.test(file)) continue;
    return file;
  }
  throw new Error('@activation: cannot tell which module declares this class; pass { source: import.meta.url }');
}
