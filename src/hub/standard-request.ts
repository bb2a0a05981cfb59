import type { JsonSchema } from '../activation/types.js';
import type { StandardRequest } from '../wire/items.js';

/**
 * `ctx.request({prompt, schema})` in the reference's tagged forms (docs/protocol.md
 * "Questions"): the question a turn-form caller sees, and its tagged answer read
 * back as the value the schema describes.
 */

type Schema = JsonSchema & {
  type?: unknown;
  enum?: unknown;
  default?: unknown;
  items?: unknown;
  oneOf?: unknown;
  anyOf?: unknown;
  examples?: unknown;
};

interface Choice {
  readonly value: unknown;
  readonly label: string;
  readonly description?: string;
}

/** The choices of an enum, or of a `oneOf`/`anyOf` of `const`s (with their titles as labels); undefined otherwise. */
function choicesOf(schema: Schema): Choice[] | undefined {
  if (Array.isArray(schema.enum))
    return schema.enum.map((value) => ({ value, label: typeof value === 'string' ? value : JSON.stringify(value) }));
  const branches = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined;
  if (!branches || branches.length === 0) return undefined;
  const out: Choice[] = [];
  for (const b of branches as { const?: unknown; title?: unknown; description?: unknown }[]) {
    if (typeof b !== 'object' || b === null || !('const' in b)) return undefined;
    const label = typeof b.title === 'string' ? b.title : typeof b.const === 'string' ? b.const : JSON.stringify(b.const);
    out.push({ value: b.const, label, ...(typeof b.description === 'string' ? { description: b.description } : {}) });
  }
  return out;
}

/** The question in the tagged form: boolean → confirm, enum (or an array of one) → select, string → prompt, else custom. */
export function standardRequest(prompt: string, schema: JsonSchema | undefined): StandardRequest {
  const s = (schema ?? {}) as Schema;
  if (s.type === 'boolean') return { type: 'confirm', message: prompt, ...(typeof s.default === 'boolean' ? { default: s.default } : {}) };
  const choices = choicesOf(s);
  if (choices) return { type: 'select', message: prompt, options: choices, multi_select: false };
  if (s.type === 'array' && typeof s.items === 'object' && s.items !== null) {
    const many = choicesOf(s.items as Schema);
    if (many) return { type: 'select', message: prompt, options: many, multi_select: true };
  }
  if (s.type === 'string') {
    const example = Array.isArray(s.examples) && typeof s.examples[0] === 'string' ? s.examples[0] : undefined;
    return {
      type: 'prompt',
      message: prompt,
      ...(s.default !== undefined ? { default: s.default } : {}),
      ...(example !== undefined ? { placeholder: example } : {}),
    };
  }
  return { type: 'custom', data: { prompt, ...(schema ? { schema } : {}) } };
}

const NO_ANSWER = Symbol('no tagged answer');

/**
 * The value a tagged answer (`StandardResponse`) carries for a question with this
 * schema, or NO_ANSWER when `answer` is not one: `confirmed`/`text` → `value`,
 * `custom` → `data`, `selected` → `values` (its only element for a single choice).
 * `cancelled` is handled before (it declines).
 */
export function taggedAnswer(answer: unknown, schema: JsonSchema | undefined): unknown {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return NO_ANSWER;
  const a = answer as { type?: unknown; value?: unknown; values?: unknown; data?: unknown };
  const keys = Object.keys(a).length;
  switch (a.type) {
    case 'confirmed':
    case 'text':
      return keys === 2 && 'value' in a ? a.value : NO_ANSWER;
    case 'custom':
      return keys === 2 && 'data' in a ? a.data : NO_ANSWER;
    case 'selected': {
      if (keys !== 2 || !Array.isArray(a.values)) return NO_ANSWER;
      const many = (schema as Schema | undefined)?.type === 'array';
      return many ? a.values : a.values.length === 1 ? a.values[0] : NO_ANSWER;
    }
    default:
      return NO_ANSWER;
  }
}

export function isNoAnswer(v: unknown): boolean {
  return v === NO_ANSWER;
}
