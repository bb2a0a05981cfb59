import type { JsonSchema } from '../../src/wire/index.js';
import { NameSet } from '../names.js';
import { docstring, isPlainIdentifier, pascalCase, pyString } from './names.js';

/**
 * JSON Schema → Python type expressions. Python cannot write object types inline,
 * so every object with properties becomes a named TypedDict ("hoisted", named after
 * where it appears: `KitchenEverythingNested`), declared once in `models.py`.
 *
 * Two renderings: in annotations (lazy, thanks to `from __future__ import
 * annotations`) `A | None`; in expressions Python evaluates (type aliases,
 * functional TypedDicts) `Union[A, None]` with named types quoted as forward refs.
 */
export class PythonTypes {
  /** Python declarations by name; emitted sorted, so output does not depend on visit order. */
  readonly #decls = new Map<string, string>();
  /** Typing names the declarations use (for models.py's import line). */
  readonly typing = new Set<string>();
  readonly #names: NameSet;
  readonly #irNames = new Map<string, string>();
  /** Every name declared in models.py, for collision checks of TypedDict field names. */
  readonly #declared = new Set<string>();

  constructor(irTypes: Readonly<Record<string, JsonSchema>>, reserved: Iterable<string>) {
    this.#names = new NameSet(reserved);
    for (const irName of Object.keys(irTypes).sort()) {
      const name = this.#names.take(pascalCase(irName));
      this.#irNames.set(irName, name);
      this.#declared.add(name);
    }
    for (const irName of Object.keys(irTypes).sort()) this.#declare(this.#irNames.get(irName)!, irTypes[irName]!);
  }

  /** All model names, sorted. */
  get names(): string[] {
    return [...this.#decls.keys()].sort();
  }

  /** The body of models.py after its imports. */
  declarations(): string {
    return this.names.map((n) => this.#decls.get(n)!).join('\n\n\n');
  }

  /** A type expression for an annotation; `refs` collects the model names it uses. */
  annotation(schema: JsonSchema, hint: string, refs: Set<string>, typing: Set<string>): string {
    return this.#expr(schema, hint, false, refs, typing);
  }

  #reserveHoisted(hint: string): string {
    const name = this.#names.take(pascalCase(hint));
    this.#declared.add(name);
    return name;
  }

  /** Declares a named type: a TypedDict for objects with properties, else a type alias. */
  #declare(name: string, schema: JsonSchema): void {
    if (isObjectWithProperties(schema)) {
      this.#typedDict(name, schema);
      return;
    }
    this.typing.add('TypeAlias');
    const refs = new Set<string>();
    const body = `${name}: TypeAlias = ${this.#expr(schema, name, true, refs, this.typing)}\n${docstring(String(schema.description ?? ''), '')}`;
    this.#decls.set(name, body.trimEnd());
  }

  #typedDict(name: string, schema: JsonSchema): void {
    this.typing.add('TypedDict');
    // Taken before the fields are visited, so a recursive reference finds it.
    this.#decls.set(name, '');
    const properties = schema.properties as Record<string, JsonSchema>;
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const keys = Object.keys(properties);
    // Class syntax needs identifier keys that do not shadow a name the annotations use.
    const classSyntax = keys.every((k) => isPlainIdentifier(k) && !this.#declared.has(k) && !ANNOTATION_NAMES.has(k));
    const refs = new Set<string>();
    const fields = keys.map((key) => {
      let type = this.#expr(properties[key]!, `${name}${pascalCase(key)}`, !classSyntax, refs, this.typing);
      if (!required.has(key)) {
        this.typing.add('NotRequired');
        type = `NotRequired[${type}]`;
      }
      return { key, type, description: String(properties[key]!.description ?? '') };
    });
    const description = String(schema.description ?? '');
    let code: string;
    if (classSyntax) {
      const body = fields.map((f) => `    ${f.key}: ${f.type}\n${docstring(f.description, '    ')}`).join('');
      const doc = docstring(description, '    ');
      code = `class ${name}(TypedDict):\n${doc}${doc && body ? '\n' : ''}${body || (doc ? '' : '    pass\n')}`;
    } else {
      const comments = description
        .trim()
        .split('\n')
        .filter((_l) => description.trim())
        .map((l) => `# ${l}`.trimEnd())
        .join('\n');
      code = `${comments ? `${comments}\n` : ''}${name} = TypedDict(${pyString(name)}, {${fields.map((f) => `${pyString(f.key)}: ${f.type}`).join(', ')}})`;
    }
    this.#decls.set(name, code.trimEnd());
  }

  #expr(schema: JsonSchema, hint: string, runtime: boolean, refs: Set<string>, typing: Set<string>): string {
    const ref = typeof schema.$ref === 'string' ? /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1] : undefined;
    if (ref !== undefined) {
      const name = this.#irNames.get(decodeURIComponent(ref));
      if (!name) return this.#any(typing);
      refs.add(name);
      return runtime ? pyString(name) : name;
    }
    if ('const' in schema) {
      const literal = pyLiteral(schema.const);
      if (literal !== undefined) return this.#literal([literal], typing);
    }
    if (Array.isArray(schema.enum)) {
      const literals = schema.enum.map(pyLiteral);
      if (literals.length && literals.every((l) => l !== undefined)) return this.#literal(literals as string[], typing);
    }
    const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
    if (Array.isArray(variants)) {
      const hints = variantHints(variants, hint);
      return this.#union(
        variants.map((v, i) => this.#expr(v, hints[i]!, runtime, refs, typing)),
        runtime,
        typing,
      );
    }
    if (Array.isArray(schema.allOf)) {
      // One member is common (a described $ref); intersections have no Python spelling.
      return schema.allOf.length === 1 ? this.#expr(schema.allOf[0] as JsonSchema, hint, runtime, refs, typing) : this.#any(typing);
    }
    if (Array.isArray(schema.type)) {
      return this.#union(
        schema.type.map((t) => this.#expr({ ...schema, type: t }, hint, runtime, refs, typing)),
        runtime,
        typing,
      );
    }
    switch (schema.type) {
      case 'string':
        return 'str';
      case 'number':
        return 'float';
      case 'integer':
        return 'int';
      case 'boolean':
        return 'bool';
      case 'null':
        return 'None';
      case 'array': {
        const tuple = (schema.prefixItems ?? (Array.isArray(schema.items) ? schema.items : undefined)) as JsonSchema[] | undefined;
        if (tuple) return `tuple[${tuple.map((s, i) => this.#expr(s, `${hint}${i + 1}`, runtime, refs, typing)).join(', ') || '()'}]`;
        if (schema.items && typeof schema.items === 'object')
          return `list[${this.#expr(schema.items as JsonSchema, `${hint}Item`, runtime, refs, typing)}]`;
        return `list[${this.#any(typing)}]`;
      }
    }
    if (isObjectWithProperties(schema)) {
      const name = this.#reserveHoisted(hint);
      this.#typedDict(name, schema);
      refs.add(name);
      return runtime ? pyString(name) : name;
    }
    if (schema.type === 'object') {
      const extra = schema.additionalProperties;
      const value =
        extra && typeof extra === 'object' ? this.#expr(extra as JsonSchema, `${hint}Value`, runtime, refs, typing) : this.#any(typing);
      return `dict[str, ${value}]`;
    }
    return this.#any(typing);
  }

  #any(typing: Set<string>): string {
    typing.add('Any');
    return 'Any';
  }

  #literal(values: string[], typing: Set<string>): string {
    const unique = [...new Set(values)];
    const nullable = unique.includes('None');
    const rest = unique.filter((v) => v !== 'None');
    if (!rest.length) return 'None';
    typing.add('Literal');
    // Literal[None] is legal but `X | None` reads better; both mean the same.
    return nullable ? `Literal[${rest.join(', ')}, None]` : `Literal[${rest.join(', ')}]`;
  }

  #union(members: string[], runtime: boolean, typing: Set<string>): string {
    const unique = [...new Set(members)];
    if (unique.includes('Any')) return 'Any';
    if (unique.length === 1) return unique[0]!;
    if (runtime) {
      typing.add('Union');
      return `Union[${unique.join(', ')}]`;
    }
    return unique.join(' | ');
  }
}

/** Names a class-syntax TypedDict's annotations may refer to; a field with such a name would shadow it. */
const ANNOTATION_NAMES = new Set([
  'str',
  'int',
  'float',
  'bool',
  'list',
  'dict',
  'tuple',
  'None',
  'Any',
  'Literal',
  'NotRequired',
  'Union',
  'TypedDict',
  'TypeAlias',
]);

function isObjectWithProperties(schema: JsonSchema): boolean {
  return (
    (schema.type === 'object' || schema.type === undefined) && !!schema.properties && Object.keys(schema.properties as object).length > 0
  );
}

/** A Python literal for a JSON value Literal[...] can hold (strings, ints, booleans, null). */
function pyLiteral(value: unknown): string | undefined {
  if (typeof value === 'string') return pyString(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null) return 'None';
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/** Names for the object variants of a union: by their discriminating constant when they have one. */
function variantHints(variants: readonly JsonSchema[], hint: string): string[] {
  const tags = variants.map((v) => {
    const props = (v.properties ?? {}) as Record<string, JsonSchema>;
    const tag = Object.values(props).find((p) => typeof p.const === 'string')?.const as string | undefined;
    return tag && /[A-Za-z]/.test(tag) ? pascalCase(tag) : undefined;
  });
  const unique = new Set(tags).size === tags.length && tags.every(Boolean);
  return variants.map((_, i) => `${hint}${unique ? tags[i]! : `Option${i + 1}`}`);
}
