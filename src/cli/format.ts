import type { JsonSchema } from '../wire/schema-types.js';
import type { MethodSchema, PluginSchema } from '../wire/schema-types.js';
import type { StreamItem } from '../wire/items.js';

/** A compact TypeScript-like rendering of a schema, for humans. */
export function typeText(schema: JsonSchema | undefined, depth = 0): string {
  if (!schema) return 'unknown';
  // biome-ignore lint/suspicious/noExplicitAny: display code reads any schema keyword loosely.
  const s = schema as Record<string, any>;
  if (s.title && depth > 0) return s.title;
  if (s.$ref) return decodeURIComponent(String(s.$ref).split('/').pop()!);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return s.anyOf.map((x: JsonSchema) => typeText(x, depth + 1)).join(' | ');
  if (Array.isArray(s.type)) return s.type.join(' | ');
  if (s.type === 'array') return `${typeText(s.items, depth + 1)}[]`;
  if (s.type === 'object' && s.properties) {
    if (depth > 1) return 'object';
    const req = new Set<string>(s.required ?? []);
    const props = Object.entries(s.properties as Record<string, JsonSchema>).map(
      ([k, v]) => `${k}${req.has(k) ? '' : '?'}: ${typeText(v, depth + 1)}`,
    );
    return `{ ${props.join('; ')} }`;
  }
  return s.type ?? 'unknown';
}

export function paramsText(params: JsonSchema | undefined): string {
  // biome-ignore lint/suspicious/noExplicitAny: display code reads any schema keyword loosely.
  const p = params as Record<string, any> | undefined;
  if (!p?.properties) return '';
  const req = new Set<string>(p.required ?? []);
  return Object.entries(p.properties as Record<string, Record<string, unknown>>)
    .map(([k, v]) => `${k}${req.has(k) ? '' : '?'}: ${typeText(v, 1)}${v.default !== undefined ? ` = ${JSON.stringify(v.default)}` : ''}`)
    .join(', ');
}

export function methodLine(m: MethodSchema): string {
  if (m.hash === 'auto_schema') return `schema({ method?: string }) → PluginSchema | MethodSchema`;
  const arrow = m.streaming ? '⇉ stream of' : '→';
  return `${m.name}(${paramsText(m.params)}) ${arrow} ${typeText(m.returns, 1)}  [${m.hash}]`;
}

/** The schema of one activation, indented by depth. */
export function pluginText(path: string, s: PluginSchema, indent = ''): string {
  const lines = [`${indent}${path}  v${s.version}  hash ${s.hash}`];
  if (s.description) lines.push(`${indent}  ${s.description}`);
  for (const m of s.methods) {
    lines.push(`${indent}  • ${methodLine(m)}`);
    if (m.description && m.hash !== 'auto_schema') lines.push(`${indent}      ${m.description.split('\n')[0]}`);
  }
  return lines.join('\n');
}

/** One stream item for humans: data as JSON, progress and errors as text. */
export function itemText(item: StreamItem): string | undefined {
  switch (item.type) {
    case 'data':
      return JSON.stringify(item.content, null, 2);
    case 'progress':
      return `… ${item.message}${item.percentage !== undefined ? ` (${item.percentage}%)` : ''}`;
    case 'error':
      return `error ${item.code ?? ''}: ${item.message}`;
    // `request` items are answered by the prompter, which shows them.
    default:
      return undefined;
  }
}

/**
 * `hub call --text <field>`: writes the string `field` of each data item as it
 * arrives, with nothing between (streamed tokens read as running text). Data items
 * without that field are left out; progress and errors go to stderr, on a line of
 * their own; the output ends with a newline.
 */
export class TextPrinter {
  #midLine = false;

  constructor(
    readonly field: string,
    readonly out: { write(s: string): unknown },
    readonly err: { write(s: string): unknown },
  ) {}

  print(item: StreamItem): void {
    if (item.type === 'data') {
      const value = (item.content as Record<string, unknown> | null)?.[this.field];
      if (typeof value === 'string' && value !== '') {
        this.out.write(value);
        this.#midLine = !value.endsWith('\n');
      }
      return;
    }
    const line = itemText(item);
    if (line === undefined) return;
    this.end();
    this.err.write(`${line}\n`);
  }

  /** Finishes the line of text, if one is open. */
  end(): void {
    if (this.#midLine) this.out.write('\n');
    this.#midLine = false;
  }
}

/** Turns `--name value` CLI words into params, typed by the method's params schema when known. */
export function paramsFromArgs(words: readonly string[], schema: JsonSchema | undefined): Record<string, unknown> {
  const props = (schema as { properties?: Record<string, { type?: string | string[] }> } | undefined)?.properties ?? {};
  const out: Record<string, unknown> = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('--')) throw new Error(`Unexpected argument "${word}": params are given as --name value`);
    let [name, value] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (value === undefined) {
      const next = words[i + 1];
      if (next === undefined || next.startsWith('--')) value = 'true';
      else value = words[++i]!;
    }
    const type = props[name]?.type;
    out[name] = type === 'string' ? value : parseLoose(value);
  }
  return out;
}

function parseLoose(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
