/**
 * The hub's config file (`hub serve --config plexus-hub.json`): every `hub serve` flag
 * (section `serve`, keys as the flags are spelled), the opt-in activations and the
 * data dir, and the settings of bash, claudecode and cone. It is checked against the
 * JSON Schema the package ships (`schema/hub-config.schema.json`, made from the flags
 * by `hubConfigSchema`), so a typo is an error naming the key and the file. It never
 * holds a secret: tokens and provider keys are named, and read from the data dir's
 * secret store (`hub secret set <name>`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject } from 'ajv';
import type { Command, Option } from 'commander';
import { OPTIONAL_ACTIVATIONS } from '../activations/optional.js';
import { SecretStore } from '../src/auth/index.js';
import { collect, integer, positive } from './options.js';

/** `hub serve` flags that hold a secret: the config names it (`{"secret": "<name>"}`). */
export const SECRET_FLAGS = ['token', 'mount-token', 'join-token', 'parent-token'] as const;
/** Flags the config has elsewhere (`with`, `data_dir` at the top) or that make no sense in it. */
const NOT_IN_SERVE = new Set(['with', 'data-dir', 'config', 'print-config']);

type Json = Record<string, unknown>;

const int = (minimum: number, description?: string): Json => ({ type: 'integer', minimum, ...(description ? { description } : {}) });
const str = (description: string): Json => ({ type: 'string', description });
const envPolicy: Json = {
  description: "where a child process's environment starts: minimal (PATH, HOME, locale, …), inherit (the hub's), or an exact map",
  oneOf: [{ enum: ['minimal', 'inherit'] }, { type: 'object', additionalProperties: { type: 'string' } }],
};
const section = (description: string, properties: Record<string, Json>): Json => ({
  type: 'object',
  description,
  additionalProperties: false,
  properties,
});
const secretRef: Json = {
  type: 'object',
  description: 'a name in the secret store of the data dir (hub secret set <name>); the value itself is never in the config',
  additionalProperties: false,
  required: ['secret'],
  properties: { secret: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' } },
};

/** The activations' sections: their constructor options, in the wire's snake_case. */
const ACTIVATION_SECTIONS: Record<string, Json> = {
  bash: section('bash (with "bash" in with)', {
    cwd: str("working directory of every command (relative: to this file's directory); a call's cwd resolves against it"),
    shell: str('the shell run as <shell> -c <command> (default bash)'),
    env: envPolicy,
    default_timeout_ms: int(1, 'timeout when a call gives none (default 60000)'),
    max_timeout_ms: int(1, 'largest timeout a call may ask for (default 600000)'),
    max_output_bytes: int(1, 'bytes of stdout + stderr per call (default 1 MiB)'),
    kill_grace_ms: int(0, 'between SIGTERM and SIGKILL when a run is stopped (default 2000)'),
    max_processes: int(1, 'processes (threads included) one call may run before all are killed (default 256)'),
    containment: {
      enum: ['auto', 'namespace', 'sweep', 'group'],
      description: "how a call's processes are found and killed (default auto: a PID namespace where allowed, else the /proc sweep)",
    },
  }),
  claudecode: section('claudecode (with "claudecode" in with)', {
    binary: str('the claude binary (default: $PLEXUS_HUB_CLAUDE, the reference search list, then PATH)'),
    cwd: str("directory a session's relative working_dir resolves against (default: the hub's cwd)"),
    env: envPolicy,
    pass_env: { type: 'array', items: { type: 'string' }, description: "names of the hub's env vars passed to claude on top of env" },
    turn_timeout_ms: int(1, 'wall-clock limit of one turn (default 30 min)'),
    kill_grace_ms: int(0, 'between SIGTERM and SIGKILL when a turn is stopped (default 2000)'),
    max_output_bytes: int(1, 'bytes of CLI output per turn (default 64 MiB)'),
    sessions_root: str('where the CLI keeps session files, for sessions_* (default ~/.claude/projects)'),
    keep_finished_streams_ms: int(0, 'how long a finished chat_async buffer stays pollable (default 1 hour)'),
  }),
  cone: section('cone (with "cone" in with): LLM services and models, as $PLEXUS_LLM_CONFIG', {
    request_timeout_ms: int(1),
    idle_timeout_ms: int(1),
    services: {
      type: 'object',
      additionalProperties: section('one LLM service; its key is named (api_key_secret or api_key_env), never written here', {
        format: { enum: ['anthropic', 'openai', 'azure', 'gemini'] },
        api_version: str('Azure: the api-version query parameter'),
        base_url: str('the API base URL'),
        api_key_secret: str('the key: a name in the secret store (hub secret set <name>)'),
        api_key_env: str('the key: an environment variable of the hub'),
        request_timeout_ms: int(1),
        idle_timeout_ms: int(1),
        include_usage: { type: 'boolean' },
      }),
    },
    models: {
      type: 'object',
      additionalProperties: {
        ...section('a model id and the service that serves it', {
          service: str('a service name'),
          model: str("the provider's model name (default: the id)"),
          family: str('the model family'),
          max_tokens: int(1),
          temperature: { type: 'number' },
        }),
        required: ['service'],
      },
    },
    defaults: section('what a model without its own max_tokens/temperature sends (default 4096 and 1.0)', {
      max_tokens: int(1),
      temperature: { type: 'number' },
    }),
  }),
};

/** A `hub serve` flag's value in the config, from how the flag parses. */
function flagSchema(opt: Option): Json {
  const description = opt.description;
  const name = opt.long!.slice(2);
  if ((SECRET_FLAGS as readonly string[]).includes(name)) return { ...secretRef, description: `${description} (by name)` };
  if (!opt.required && !opt.optional) return { type: 'boolean', description };
  if (opt.argChoices) return { enum: opt.argChoices, description };
  if (opt.parseArg === integer) return int(0, description);
  if (opt.parseArg === positive) return int(1, description);
  if (opt.parseArg === collect) return { type: 'array', items: { type: 'string' }, description };
  if (name === 'mount')
    return {
      type: 'object',
      additionalProperties: { type: 'string', pattern: '^wss?://' },
      description: `${description}: {"<name>": "ws://host:port"}`,
    };
  return { type: 'string', description };
}

/** The key of a flag in the config's `serve` section: `--no-explorer` is `explorer` (false). */
function flagKey(opt: Option): string {
  const long = opt.long!.slice(2);
  return opt.negate ? long.slice('no-'.length) : long;
}

/** The JSON Schema of the config file, made from `hub serve`'s flags (the shipped file is this, written by a test). */
export function hubConfigSchema(serve: Command): Json {
  const flags: Record<string, Json> = {};
  for (const opt of serve.options) {
    const key = flagKey(opt);
    if (!NOT_IN_SERVE.has(key) && opt.long) flags[key] = flagSchema(opt);
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'plexus-hub config (hub serve --config)',
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', description: 'this schema, e.g. ./node_modules/plexus-hub/schema/hub-config.schema.json' },
      with: { type: 'array', items: { enum: [...OPTIONAL_ACTIVATIONS] }, description: 'opt-in activations (--with)' },
      data_dir: str("the hub's state (--data-dir); relative: to this file's directory"),
      serve: { ...section('hub serve flags, spelled as the flags (flags given on the command line win)', flags) },
      ...ACTIVATION_SECTIONS,
    },
  };
}

/** The shipped schema file: `schema/` at the package root, found from this module (in `cli/` or `dist/cli/`). */
export function schemaFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'schema', 'hub-config.schema.json');
    if (existsSync(file)) return file;
    const up = dirname(dir);
    if (up === dir) throw new Error('schema/hub-config.schema.json is missing from the plexus-hub package');
    dir = up;
  }
}

/** A secret named in the config. */
export interface SecretRef {
  readonly secret: string;
}

/** What a config file says, checked; paths resolved against its directory. */
export interface HubConfig {
  readonly file: string;
  readonly with?: string[];
  readonly dataDir?: string;
  /** `hub serve` flag values by flag key (`max-streams`, `explorer`). */
  readonly serve: Record<string, unknown>;
  readonly bash?: Json;
  readonly claudecode?: Json;
  readonly cone?: Json;
}

/** A config error: the file and the key, for a person. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function where(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function describe(file: string, e: ErrorObject): string {
  const at = where(e.instancePath);
  if (e.keyword === 'additionalProperties') {
    const key = [at, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
    return `config ${file}: unknown key "${key}"`;
  }
  if (e.keyword === 'enum')
    return `config ${file}: "${at}" must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `config ${file}: "${at || '(top)'}" ${e.message}`;
}

/** Refuses a secret written into the config, before the schema's more general complaint. */
function refuseLiteralSecrets(file: string, parsed: Json): void {
  const serve = parsed.serve;
  if (serve && typeof serve === 'object') {
    for (const key of SECRET_FLAGS) {
      const value = (serve as Json)[key];
      if (typeof value === 'string')
        throw new ConfigError(
          `config ${file}: "serve.${key}" holds a secret value; the config only names secrets: store it with \`hub secret set <name>\` and write {"secret": "<name>"}`,
        );
    }
  }
  const services = (parsed.cone as Json | undefined)?.services;
  if (services && typeof services === 'object') {
    for (const [name, s] of Object.entries(services as Json)) {
      if (s && typeof s === 'object' && 'api_key' in s)
        throw new ConfigError(
          `config ${file}: "cone.services.${name}.api_key" holds a secret value; the config only names secrets: store it with \`hub secret set <name>\` and write "api_key_secret": "<name>"`,
        );
    }
  }
}

let validator: ReturnType<Ajv['compile']> | undefined;

/** ajv is loaded here, not at start: a start with no config file does not need it. */
function configValidator(): ReturnType<Ajv['compile']> {
  const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  return new AjvClass({ allErrors: false, strict: false }).compile(JSON.parse(readFileSync(schemaFile(), 'utf8')));
}

/** Reads and checks a config file; a `ConfigError` naming the file and the key for anything wrong. */
export function readHubConfig(file: string): HubConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config ${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`config ${file}: expected a JSON object`);
  refuseLiteralSecrets(file, parsed as Json);
  validator ??= configValidator();
  if (!validator(parsed)) throw new ConfigError(describe(file, validator.errors![0]!));
  const c = parsed as Json;
  const base = dirname(resolve(file));
  const path = (p: unknown) => (typeof p === 'string' ? resolve(base, p) : undefined);
  const withPaths = (s: Json | undefined, keys: string[]): Json | undefined => {
    if (!s) return undefined;
    const out = { ...s };
    for (const k of keys) if (typeof out[k] === 'string') out[k] = path(out[k]);
    return out;
  };
  const claudecode = withPaths(c.claudecode as Json | undefined, ['cwd', 'sessions_root']);
  // A binary named with a path is relative to the file; a bare name is looked up on PATH.
  if (claudecode && typeof claudecode.binary === 'string' && claudecode.binary.includes('/') && !isAbsolute(claudecode.binary))
    claudecode.binary = path(claudecode.binary);
  return {
    file,
    ...(c.with ? { with: c.with as string[] } : {}),
    ...(c.data_dir !== undefined ? { dataDir: path(c.data_dir)! } : {}),
    serve: (c.serve as Json | undefined) ?? {},
    ...(c.bash ? { bash: withPaths(c.bash as Json, ['cwd'])! } : {}),
    ...(claudecode ? { claudecode } : {}),
    ...(c.cone ? { cone: c.cone as Json } : {}),
  };
}

/**
 * Sets the flags the config gives and the command line does not (a flag given, or its
 * env var, wins). Secrets are read from the data dir's store by name.
 */
export function applyServeConfig(cmd: Command, opts: Record<string, unknown>, config: HubConfig, dataDir: string): void {
  let store: SecretStore | undefined;
  for (const [key, raw] of Object.entries(config.serve)) {
    const opt = cmd.options.find((o) => o.long && flagKey(o) === key)!;
    const attr = opt.attributeName();
    const source = cmd.getOptionValueSource(attr);
    if (source === 'cli' || source === 'env') continue;
    let value = raw;
    if ((SECRET_FLAGS as readonly string[]).includes(key)) {
      const name = (raw as SecretRef).secret;
      store ??= new SecretStore(dataDir);
      value = store.get(name);
      if (value === undefined)
        throw new ConfigError(
          `config ${config.file}: "serve.${key}" names the secret "${name}", which is not in the secret store of ${dataDir} (hub secret set ${name} --data-dir ${dataDir})`,
        );
    } else if (key === 'mount') {
      value = Object.entries(raw as Record<string, string>);
    }
    opts[attr] = value;
    cmd.setOptionValueWithSource(attr, value, 'config');
  }
}

/**
 * The effective configuration, in the config file's own form: every `hub serve` flag's
 * value (from the command line, the config or its default), secrets by name only.
 */
export function effectiveConfig(
  cmd: Command,
  opts: Record<string, unknown>,
  state: { dataDir: string; with: readonly string[] },
  config?: HubConfig,
): Json {
  const serve: Json = {};
  for (const opt of cmd.options) {
    const key = flagKey(opt);
    if (NOT_IN_SERVE.has(key) || !opt.long) continue;
    const attr = opt.attributeName();
    let value = opts[attr];
    if ((SECRET_FLAGS as readonly string[]).includes(key)) {
      if (value === undefined) continue;
      const named = config?.serve[key] as SecretRef | undefined;
      value = cmd.getOptionValueSource(attr) === 'config' && named ? named : '(given on the command line or in the environment: not shown)';
    } else if (key === 'mount') {
      value = Object.fromEntries((value as [string, string][] | undefined) ?? []);
    }
    if (value !== undefined) serve[key] = value;
  }
  return {
    ...(config ? { $schema: schemaFile() } : {}),
    with: [...state.with],
    data_dir: state.dataDir,
    serve,
    ...(config?.bash ? { bash: config.bash } : {}),
    ...(config?.claudecode ? { claudecode: config.claudecode } : {}),
    ...(config?.cone ? { cone: config.cone } : {}),
  };
}
