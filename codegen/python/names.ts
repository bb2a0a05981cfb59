/** Identifier rules for the Python emitter. */

import { pascalCase as sharedPascalCase } from '../names.js';

const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from global if import in is ' +
    'lambda nonlocal not or pass raise return try while with yield match case type _'
  ).split(' '),
);

/** Capitalised builtins and the names every generated module imports: a generated type must not shadow them. */
const TAKEN_TYPE_NAMES = new Set(
  (
    'ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError BrokenPipeError BufferError ' +
    'BytesWarning ChildProcessError ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError ' +
    'DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception ExceptionGroup FileExistsError ' +
    'FileNotFoundError FloatingPointError FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError ' +
    'IndexError InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ModuleNotFoundError ' +
    'NameError NotADirectoryError NotImplemented NotImplementedError OSError OverflowError PendingDeprecationWarning ' +
    'PermissionError ProcessLookupError RecursionError ReferenceError ResourceWarning RuntimeError RuntimeWarning ' +
    'StopAsyncIteration StopIteration SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError TypeError ' +
    'UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ' +
    'ValueError Warning ZeroDivisionError ' +
    // typing names used by the generated modules
    'Any Literal NotRequired TypeAlias TypedDict Union ' +
    // runtime and client names exported next to the types
    'CallStream Connector DriftPolicy HubClient PlexusCallError PlexusClient PlexusConnectionError PlexusError PlexusRequest ' +
    'PlexusRpcError RequestHandler SchemaDriftError SchemaDriftWarning TypedHub WebSocketLike'
  ).split(' '),
);

export function isKeyword(name: string): boolean {
  return KEYWORDS.has(name);
}

/** True when `name` can be a TypedDict field in class syntax or a keyword argument. */
export function isPlainIdentifier(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name);
}

/** A snake_case attribute or argument name: `kebab-case` → `kebab_case`, `class` → `class_`, `2d` → `n2d`. */
export function attributeName(raw: string): string {
  let name = raw.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+/, '');
  if (!name) name = 'unnamed';
  if (/^[0-9]/.test(name)) name = `n${name}`;
  return KEYWORDS.has(name) || name === 'self' ? `${name}_` : name;
}

/** `solar.earth.luna` → `SolarEarthLuna`, never a builtin's or an imported name. */
export function pascalCase(raw: string): string {
  return sharedPascalCase(raw, TAKEN_TYPE_NAMES);
}

/** A Python string literal (JSON's escapes are all valid Python escapes). */
export function pyString(value: string): string {
  return JSON.stringify(value);
}

/** A docstring body: backslashes and triple quotes escaped, no trailing quote. */
export function docstring(text: string, indent: string): string {
  const body = text.trim().replace(/\\/g, '\\\\').replace(/"""/g, '\\"\\"\\"').replace(/"$/, '\\"');
  if (!body) return '';
  const lines = body.split('\n').map((l) => l.trimEnd());
  if (lines.length === 1) return `${indent}"""${lines[0]}"""\n`;
  return `${indent}"""${lines[0]}\n${lines
    .slice(1)
    .map((l) => (l ? `${indent}${l}` : ''))
    .join('\n')}\n${indent}"""\n`;
}
