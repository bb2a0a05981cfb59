import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { JsonSchema } from '../wire/schema-types.js';

/**
 * Params validation. One validator per params schema, compiled on first use and
 * kept as long as the schema object lives.
 */
const ajv = new Ajv({ strict: false, allErrors: false });
addFormats.default(ajv);
const compiled = new WeakMap<JsonSchema, ValidateFunction>();
const NO_PARAMS: JsonSchema = { type: 'object', additionalProperties: false };

/** Returns undefined when `params` fit `schema`, else what is wrong, e.g. `missing required param 'message'`. */
export function paramsProblem(schema: JsonSchema | undefined, params: unknown): string | undefined {
  const key = schema ?? NO_PARAMS;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(key);
    compiled.set(key, validate);
  }
  if (validate(params)) return undefined;
  const errors = validate.errors ?? [];
  // For a union, the branch errors say less than "matches none of them".
  const union = errors.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  return describe(union && union.instancePath.length <= (errors[0]?.instancePath.length ?? 0) ? union : errors[0]);
}

/** Returns undefined when `value` fits `schema`, else what is wrong, e.g. `answer must be boolean`. */
export function valueProblem(schema: JsonSchema, value: unknown, what = 'answer'): string | undefined {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return undefined;
  const error = validate.errors?.[0];
  const where = (error?.instancePath ?? '').split('/').slice(1).join('.');
  const params = (error?.params ?? {}) as Record<string, unknown>;
  const subject = where ? `${what}.${where}` : what;
  if (error?.keyword === 'enum')
    return `${subject} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (error?.keyword === 'required') return `${subject} is missing '${String(params.missingProperty)}'`;
  return `${subject} ${error?.message ?? 'does not match the schema'}`;
}

function describe(error: ErrorObject | null | undefined): string {
  if (!error) return 'params do not match the schema';
  const where = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `missing required param '${where ? `${where}.` : ''}${String(params.missingProperty)}'`;
    case 'additionalProperties':
      return `unknown param '${where ? `${where}.` : ''}${String(params.additionalProperty)}'`;
    case 'enum':
      return `param '${where}' must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `param '${where}' must be ${JSON.stringify(params.allowedValue)}`;
    case 'anyOf':
    case 'oneOf':
      return `param '${where}' matches none of the types it allows`;
    default:
      return where ? `param '${where}' ${error.message ?? 'is invalid'}` : `params ${error.message ?? 'are invalid'}`;
  }
}
