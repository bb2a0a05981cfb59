import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { JsonSchema } from '../wire/schema-types.js';
import { onFirstExtraction } from './extract-process.js';
import { userCacheDirectory } from './loader.js';

/**
 * Params validation. One validator per params schema, made on first use and kept as
 * long as the schema object lives.
 *
 * A validator is ajv's generated code, and that code is kept on disk by schema
 * (`validators/` of the user cache, as the compiled user modules): loading ajv and
 * compiling a first schema cost ~140 ms of CPU, half of a warm start, so a start whose
 * validators are all cached loads no ajv at all. The cached code is ajv's standalone
 * module for the same schema and options, so what it accepts and the errors it
 * reports are ajv's.
 */
const require = createRequire(import.meta.url);
const OPTIONS = { strict: false, allErrors: false, code: { source: true } } as const;
const AJV_VERSION = (require('ajv/package.json') as { version: string }).version;
const FORMATS_VERSION = (require('ajv-formats/package.json') as { version: string }).version;

let ajv: Ajv | undefined;
function compiler(): Ajv {
  if (!ajv) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    ajv = new Ajv(OPTIONS);
    (require('ajv-formats') as typeof import('ajv-formats')).default(ajv);
  }
  return ajv;
}

// Schemas being extracted are new, so are their validators: load ajv and compile its
// meta-schema (what the first compile does) while this process waits for the extractor,
// not at the first call (~150 ms of CPU before a cold start's first answer).
onFirstExtraction(() => compiler().compile({ type: 'object' }));

/** `$PLEXUS_HUB_CACHE/validators` (`off`: none), else the user cache dir's. */
function validatorCache(): string | undefined {
  const setting = process.env.PLEXUS_HUB_CACHE;
  if (setting === 'off') return undefined;
  return join(setting ? resolve(setting) : userCacheDirectory(), 'validators');
}

/** Runs a cached standalone module (CommonJS: `module.exports = validate`); its requires resolve from here, as ajv's own would. */
function instantiate(code: string): ValidateFunction {
  const module = { exports: {} as unknown };
  new Function('require', 'module', 'exports', code)(require, module, module.exports);
  if (typeof module.exports !== 'function') throw new Error('not a validator');
  return module.exports as ValidateFunction;
}

function build(schema: JsonSchema): ValidateFunction {
  const dir = validatorCache();
  const file =
    dir &&
    join(
      dir,
      `${createHash('sha256')
        .update(JSON.stringify([AJV_VERSION, FORMATS_VERSION, OPTIONS, schema]))
        .digest('hex')}.cjs`,
    );
  if (file) {
    try {
      return instantiate(readFileSync(file, 'utf8'));
    } catch {
      /* not cached yet (or unreadable): compile */
    }
  }
  const validate = compiler().compile(schema);
  if (file) {
    try {
      const standalone = require('ajv/dist/standalone') as typeof import('ajv/dist/standalone/index.js');
      const code = standalone.default(compiler(), validate);
      mkdirSync(dir!, { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, code);
      renameSync(temp, file); // whole or not at all
    } catch {
      /* a read-only or full cache costs speed, not correctness */
    }
  }
  return validate;
}

const compiled = new WeakMap<JsonSchema, ValidateFunction>();
const NO_PARAMS: JsonSchema = { type: 'object', additionalProperties: false };

function validatorOf(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = build(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Returns undefined when `params` fit `schema`, else what is wrong, e.g. `missing required param 'message'`. */
export function paramsProblem(schema: JsonSchema | undefined, params: unknown): string | undefined {
  const validate = validatorOf(schema ?? NO_PARAMS);
  if (validate(params)) return undefined;
  const errors = validate.errors ?? [];
  // For a union, the branch errors say less than "matches none of them".
  const union = errors.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  return describe(union && union.instancePath.length <= (errors[0]?.instancePath.length ?? 0) ? union : errors[0]);
}

/** Returns undefined when `value` fits `schema`, else what is wrong, e.g. `answer must be boolean`. */
export function valueProblem(schema: JsonSchema, value: unknown, what = 'answer'): string | undefined {
  const validate = validatorOf(schema);
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
