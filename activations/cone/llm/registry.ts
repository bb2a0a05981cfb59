import { readFileSync } from 'node:fs';
import { checkSecretName, resolveDataDir, SecretStore, type SecretSource } from '../../../src/auth/index.js';
import { AnthropicProvider } from './anthropic.js';
import { GeminiProvider } from './gemini.js';
import { AZURE_API_VERSION, OpenAiProvider } from './openai.js';
import { Secret } from './secret.js';
import { WIRE_FORMATS, type ServiceConfig, type WireFormat } from './service.js';
import type { LlmProvider } from './types.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/**
 * What every request carries unless the model (or the config's `defaults`) says otherwise:
 * the reference's model defaults (its model files give `temperature: 1.0`, `max_tokens: 4096`).
 */
export const DEFAULT_TEMPERATURE = 1;
export const DEFAULT_MAX_TOKENS = 4096;

/** A service known without any configuration; its base URL and key come from env vars. */
interface BuiltinService {
  readonly name: string;
  readonly format: WireFormat;
  readonly defaultBaseUrl: string;
  readonly baseUrlEnv: string;
  /** First one set wins. */
  readonly keyEnvs: readonly string[];
  /** A key is needed even at an overridden URL (a hosted service with per-customer endpoints). */
  readonly keyAlwaysRequired?: boolean;
  /** Azure: the env var of the `api-version`. */
  readonly apiVersionEnv?: string;
  /** Ask for usage in the stream (OpenAI's `stream_options`); older Azure API versions refuse it. */
  readonly includeUsage?: boolean;
}

const BUILTIN_SERVICES: readonly BuiltinService[] = [
  {
    name: 'anthropic',
    format: 'anthropic',
    defaultBaseUrl: 'https://api.anthropic.com',
    baseUrlEnv: 'ANTHROPIC_BASE_URL',
    keyEnvs: ['ANTHROPIC_API_KEY'],
  },
  {
    name: 'openai',
    format: 'openai',
    defaultBaseUrl: 'https://api.openai.com/v1',
    baseUrlEnv: 'OPENAI_BASE_URL',
    keyEnvs: ['OPENAI_API_KEY'],
  },
  {
    name: 'deepseek',
    format: 'openai',
    defaultBaseUrl: 'https://api.deepseek.com/v1',
    baseUrlEnv: 'DEEPSEEK_BASE_URL',
    keyEnvs: ['DEEPSEEK_API_KEY'],
  },
  {
    name: 'openrouter',
    format: 'openai',
    defaultBaseUrl: 'https://openrouter.ai/api/v1',
    baseUrlEnv: 'OPENROUTER_BASE_URL',
    keyEnvs: ['OPEN_ROUTER_API_KEY', 'OPENROUTER_API_KEY'],
  },
  {
    name: 'google',
    format: 'gemini',
    defaultBaseUrl: 'https://generativelanguage.googleapis.com',
    baseUrlEnv: 'GEMINI_BASE_URL',
    keyEnvs: ['GOOGLE_API_KEY', 'GEMINI_API_KEY'],
  },
  {
    // No public URL: each resource has its own endpoint, and every call needs a key.
    name: 'azure',
    format: 'azure',
    defaultBaseUrl: '',
    baseUrlEnv: 'AZURE_OPENAI_ENDPOINT',
    keyEnvs: ['AZURE_OPENAI_API_KEY'],
    keyAlwaysRequired: true,
    apiVersionEnv: 'AZURE_OPENAI_API_VERSION',
    includeUsage: false,
  },
  {
    name: 'avian',
    format: 'openai',
    defaultBaseUrl: 'https://api.avian.io/v1',
    baseUrlEnv: 'AVIAN_BASE_URL',
    keyEnvs: ['AVIAN_API_KEY'],
  },
];

/** Model ids recognised by shape, so any current model of a family works without a table entry. */
const FAMILY_RULES: readonly { readonly test: RegExp; readonly service: string; readonly family: string }[] = [
  { test: /^claude-/, service: 'anthropic', family: 'claude' },
  { test: /^(gpt-|chatgpt-|o\d)/, service: 'openai', family: 'gpt' },
  { test: /^deepseek-/, service: 'deepseek', family: 'deepseek' },
  { test: /^(models\/)?gemini-/, service: 'google', family: 'gemini' },
  // OpenRouter ids are `<vendor>/<model>`.
  { test: /^[a-z0-9][a-z0-9._-]*\/[^/\s]+$/i, service: 'openrouter', family: 'openrouter' },
];

/** Listed by `cone.registry`; any id matching a family rule works too. */
const KNOWN_MODELS: readonly string[] = [
  'claude-3-haiku-20240307',
  'claude-3-5-haiku-latest',
  'claude-sonnet-4-5',
  'gpt-4o-mini',
  'gpt-4o',
  'gpt-4.1-mini',
  'deepseek-chat',
  'deepseek-reasoner',
  'gemini-2.0-flash',
  'gemini-2.5-flash',
];

/** What a model id resolves to. */
export interface ResolvedModel {
  readonly id: string;
  readonly service: ServiceConfig;
  /** The name sent to the provider. */
  readonly model: string;
  readonly family: string;
  readonly maxTokens?: number;
  readonly temperature?: number;
}

/**
 * `PLEXUS_LLM_CONFIG` / `new LlmRegistry({ configFile })` JSON. A key is named, never
 * written in the file: `api_key_secret` (a name in the hub's secret store, `hub secret
 * set`) or `api_key_env` (an env var); `api_key` (the key itself) still works but puts
 * it in a file that is not owner-only by default.
 */
export interface LlmConfigFile {
  request_timeout_ms?: number;
  idle_timeout_ms?: number;
  services?: Record<
    string,
    {
      format?: WireFormat;
      base_url?: string;
      api_key?: string;
      api_key_env?: string;
      api_key_secret?: string;
      request_timeout_ms?: number;
      idle_timeout_ms?: number;
      include_usage?: boolean;
      /** Azure: the `api-version` query parameter. */
      api_version?: string;
    }
  >;
  models?: Record<string, { service: string; model?: string; family?: string; max_tokens?: number; temperature?: number }>;
  /** What a model without its own `max_tokens`/`temperature` sends (default: the reference's, 4096 and 1). */
  defaults?: { max_tokens?: number; temperature?: number };
}

export interface LlmRegistryOptions {
  /** Defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * The secret store keys are also read from (after the environment): a built-in
   * service's key by its env var name (`OPENAI_API_KEY`), a configured one by
   * `api_key_secret`. Default: the data dir's (`resolveDataDir()`); `hub serve` passes
   * its own.
   */
  readonly secrets?: SecretSource;
  /** JSON config file; defaults to `$PLEXUS_LLM_CONFIG` when set. */
  readonly configFile?: string;
  /** The same, already parsed (tests, embedding). */
  readonly config?: LlmConfigFile;
}

/** `RegistryExport` of the reference (cllient), from this registry's services and models. */
export interface RegistryExport {
  services: { name: string; base_url: string; message_format: WireFormat; rate_limits: null; model_count: number }[];
  families: string[];
  models: {
    id: string;
    family: string;
    name: string;
    service: string;
    status: 'configured' | 'unverified';
    capabilities: { streaming: boolean; system_prompt: boolean };
    pricing: null;
    constraints: { max_tokens: number | null; temperature: number | null };
    use_cases: string[];
  }[];
  stats: { service_count: number; family_count: number; model_count: number; verified_count: number; unverified_count: number };
}

export class UnknownModelError extends Error {
  override readonly name = 'UnknownModelError';
}

export class LlmConfigError extends Error {
  override readonly name = 'LlmConfigError';
}

function readConfigFile(path: string): LlmConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LlmConfigError(`cannot read LLM config ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the top level must be an object');
    return parsed as LlmConfigFile;
  } catch (err) {
    // Never quote the file: it may hold keys.
    throw new LlmConfigError(`LLM config ${path} is not valid: ${(err as Error).message.replace(/".*"/, '…')}`);
  }
}

const temperature = (v: unknown, what: string): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0 && v <= 2)) throw new LlmConfigError(`${what} must be a number from 0 to 2`);
  return v;
};

const positive = (v: unknown, what: string): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0)) throw new LlmConfigError(`${what} must be a positive number`);
  return v;
};

/**
 * The services and models cone can call: the built-in services (Anthropic, OpenAI,
 * DeepSeek, OpenRouter, Google Gemini, Azure OpenAI, Avian) configured from env vars, plus services and models from a
 * config file. Resolves a cone's `model_id` to a provider.
 */
export class LlmRegistry {
  readonly #services = new Map<string, ServiceConfig>();
  readonly #models = new Map<string, { service: string; model: string; family: string; maxTokens?: number; temperature?: number }>();
  readonly #providers = new Map<string, LlmProvider>();
  readonly #defaults: { readonly maxTokens: number; readonly temperature: number };

  constructor(options: LlmRegistryOptions = {}) {
    const env = options.env ?? process.env;
    const file = options.configFile ?? env.PLEXUS_LLM_CONFIG;
    const config: LlmConfigFile = options.config ?? (file ? readConfigFile(file) : {});
    const requestTimeoutMs = positive(config.request_timeout_ms, 'request_timeout_ms') ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const idleTimeoutMs = positive(config.idle_timeout_ms, 'idle_timeout_ms') ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#defaults = {
      maxTokens: positive(config.defaults?.max_tokens, 'defaults.max_tokens') ?? DEFAULT_MAX_TOKENS,
      temperature: temperature(config.defaults?.temperature, 'defaults.temperature') ?? DEFAULT_TEMPERATURE,
    };

    const secrets = options.secrets ?? new SecretStore(resolveDataDir());
    const secret = (name: string): string | undefined => {
      try {
        checkSecretName(name);
      } catch {
        return undefined; // an env var name that cannot be a file name is simply not in the store
      }
      try {
        return secrets.get(name);
      } catch (err) {
        throw new LlmConfigError((err as Error).message);
      }
    };
    for (const b of BUILTIN_SERVICES) {
      // The environment first (an explicit override), then the secret store, under the same names.
      const keyEnv = b.keyEnvs.find((k) => env[k]) ?? b.keyEnvs.find((k) => secret(k) !== undefined) ?? b.keyEnvs[0]!;
      const key = env[keyEnv] || secret(keyEnv);
      const baseUrl = env[b.baseUrlEnv] || b.defaultBaseUrl;
      const apiVersion = b.apiVersionEnv ? env[b.apiVersionEnv] || AZURE_API_VERSION : undefined;
      this.#services.set(b.name, {
        name: b.name,
        format: b.format,
        baseUrl,
        baseUrlEnv: b.baseUrlEnv,
        ...(key ? { apiKey: new Secret(key) } : {}),
        apiKeyEnv: keyEnv,
        keyRequired: b.keyAlwaysRequired === true || baseUrl === b.defaultBaseUrl,
        ...(apiVersion ? { apiVersion } : {}),
        requestTimeoutMs,
        idleTimeoutMs,
        includeUsage: b.includeUsage ?? true,
      });
    }
    for (const [name, s] of Object.entries(config.services ?? {})) {
      const base = this.#services.get(name);
      const format = s.format ?? base?.format;
      if (!format || !WIRE_FORMATS.includes(format))
        throw new LlmConfigError(`service '${name}': format must be one of ${WIRE_FORMATS.map((f) => `"${f}"`).join(', ')}`);
      const baseUrl = s.base_url ?? base?.baseUrl;
      if (!baseUrl) throw new LlmConfigError(`service '${name}': base_url is required`);
      try {
        new URL(baseUrl);
      } catch {
        throw new LlmConfigError(`service '${name}': base_url is not a URL`);
      }
      const keyEnv = s.api_key_env ?? base?.apiKeyEnv;
      if (s.api_key_secret !== undefined) {
        try {
          checkSecretName(s.api_key_secret);
        } catch (err) {
          throw new LlmConfigError(`service '${name}': api_key_secret: ${(err as Error).message}`);
        }
      }
      const key =
        s.api_key ??
        (s.api_key_secret !== undefined ? secret(s.api_key_secret) : undefined) ??
        (keyEnv ? env[keyEnv] || secret(keyEnv) : undefined);

      const apiKey = key ? new Secret(key) : base?.apiKey;
      const apiVersion = s.api_version ?? base?.apiVersion ?? (format === 'azure' ? AZURE_API_VERSION : undefined);
      this.#services.set(name, {
        name,
        format,
        baseUrl,
        ...(apiKey ? { apiKey } : {}),
        ...(keyEnv ? { apiKeyEnv: keyEnv } : {}),
        // Azure always needs a key; another built-in only at its public URL.
        keyRequired: format === 'azure' || (base ? base.keyRequired && baseUrl === base.baseUrl : false),
        ...(apiVersion ? { apiVersion } : {}),
        requestTimeoutMs: positive(s.request_timeout_ms, `service '${name}': request_timeout_ms`) ?? requestTimeoutMs,
        idleTimeoutMs: positive(s.idle_timeout_ms, `service '${name}': idle_timeout_ms`) ?? idleTimeoutMs,
        includeUsage: s.include_usage ?? base?.includeUsage ?? format !== 'azure',
      });
    }
    for (const [id, m] of Object.entries(config.models ?? {})) {
      if (!m || typeof m.service !== 'string' || !this.#services.has(m.service)) {
        throw new LlmConfigError(`model '${id}': service must name a configured service (${[...this.#services.keys()].join(', ')})`);
      }
      this.#models.set(id, {
        service: m.service,
        model: m.model ?? id,
        family: m.family ?? m.service,
        ...(m.max_tokens !== undefined ? { maxTokens: positive(m.max_tokens, `model '${id}': max_tokens`)! } : {}),
        ...(m.temperature !== undefined ? { temperature: temperature(m.temperature, `model '${id}': temperature`)! } : {}),
      });
    }
  }

  /** `max_tokens` and `temperature` a request of `model` carries: the model's own, else the defaults. */
  limits(model: ResolvedModel): { readonly maxTokens: number; readonly temperature: number } {
    return { maxTokens: model.maxTokens ?? this.#defaults.maxTokens, temperature: model.temperature ?? this.#defaults.temperature };
  }

  services(): readonly ServiceConfig[] {
    return [...this.#services.values()];
  }

  /**
   * A model id as a cone stores it: a configured model, `<service>:<model>` (any
   * model of a configured service, e.g. `openai:llama3.1:8b` for a local
   * OpenAI-compatible server, `azure:<deployment>`, `avian:<model>`), or an id of a
   * known family (`claude-*`, `gpt-*`, `o1…`, `deepseek-*`, `gemini-*`, `<vendor>/<model>`
   * via OpenRouter).
   */
  resolve(modelId: string): ResolvedModel {
    const configured = this.#models.get(modelId);
    if (configured) {
      const { service, ...rest } = configured;
      return { id: modelId, service: this.#services.get(service)!, ...rest };
    }
    const colon = modelId.indexOf(':');
    if (colon > 0) {
      const service = this.#services.get(modelId.slice(0, colon));
      const model = modelId.slice(colon + 1);
      if (service && model) return { id: modelId, service, model, family: service.name };
    }
    for (const rule of FAMILY_RULES) {
      if (rule.test.test(modelId)) {
        const family = rule.family === 'openrouter' ? modelId.slice(0, modelId.indexOf('/')) : rule.family;
        return { id: modelId, service: this.#services.get(rule.service)!, model: modelId, family };
      }
    }
    throw new UnknownModelError(
      `unknown model; use an id of a known family (claude-*, gpt-*, o1…, deepseek-*, gemini-*, <vendor>/<model>), '<service>:<model>' with a service of ${[...this.#services.keys()].join(', ')}, or a model from the LLM config file`,
    );
  }

  /** The provider for a service, made once. */
  provider(service: ServiceConfig): LlmProvider {
    let p = this.#providers.get(service.name);
    if (!p) {
      p =
        service.format === 'anthropic'
          ? new AnthropicProvider(service)
          : service.format === 'gemini'
            ? new GeminiProvider(service)
            : new OpenAiProvider(service);
      this.#providers.set(service.name, p);
    }
    return p;
  }

  export(): RegistryExport {
    const rows = [...this.#models.keys(), ...KNOWN_MODELS.filter((id) => !this.#models.has(id))].map((id) => ({
      id,
      m: this.resolve(id),
      configured: this.#models.has(id),
    }));
    const models = rows.map(({ id, m, configured }) => ({
      id,
      family: m.family,
      name: m.model,
      service: m.service.name,
      status: configured ? ('configured' as const) : ('unverified' as const),
      capabilities: { streaming: true, system_prompt: true },
      pricing: null,
      constraints: { max_tokens: m.maxTokens ?? null, temperature: m.temperature ?? null },
      use_cases: [],
    }));
    const families = [...new Set(models.map((m) => m.family))].sort();
    return {
      services: this.services().map((s) => ({
        name: s.name,
        base_url: s.baseUrl,
        message_format: s.format,
        rate_limits: null,
        model_count: models.filter((m) => m.service === s.name).length,
      })),
      families,
      models,
      stats: {
        service_count: this.#services.size,
        family_count: families.length,
        model_count: models.length,
        verified_count: models.filter((m) => m.status === 'configured').length,
        unverified_count: models.filter((m) => m.status !== 'configured').length,
      },
    };
  }
}
