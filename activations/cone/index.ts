/** cone: LLM conversations over arbor. The activation, its storage and the provider layer. */
export { Cone, type ConeOptions } from './activation.js';
export { ConeStorage, type StoredMessage } from './storage.js';
export { ConeError } from './errors.js';
export { CONE_PLUGIN_ID, messageHandle } from './handles.js';
export {
  LlmRegistry,
  UnknownModelError,
  LlmConfigError,
  type LlmConfigFile,
  type LlmRegistryOptions,
  type ResolvedModel,
  type RegistryExport,
} from './llm/registry.js';
export { LlmError, LlmErrorCode } from './llm/errors.js';
export { AnthropicProvider } from './llm/anthropic.js';
export { GeminiProvider } from './llm/gemini.js';
export { OpenAiProvider } from './llm/openai.js';
export type { LlmEvent, LlmMessage, LlmProvider, LlmRequest, LlmUsage } from './llm/types.js';
export type { ServiceConfig, WireFormat } from './llm/service.js';
export * from './types.js';
