/** mustache: a template registry keyed by (plugin_id, method, name), rendering with the reference's escaping. */
export { Mustache, type MustacheOptions } from './activation.js';
export { MustacheStorage } from './storage.js';
export { MustacheError } from './errors.js';
export { TemplateRenderer } from './render.js';
export { checkTemplate, DEFAULT_RENDER_LIMITS, type RenderLimits } from './limits.js';
export type { TemplateInfo } from './types.js';
export { pluginId } from '../storage/plugin-id.js';
