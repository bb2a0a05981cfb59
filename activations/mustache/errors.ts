import { PlexusError } from '../../src/index.js';

/** The reference's `MustacheError` codes: `mustache.<kind>`. */
export class MustacheError extends PlexusError {
  static templateNotFound(plugin_id: string, method: string, name: string): MustacheError {
    return new MustacheError(
      'mustache.template_not_found',
      `Template not found: plugin=${plugin_id}, method=${method}, name=${name}`,
      false,
      {
        plugin_id,
        method,
        name,
      },
    );
  }
  static invalidTemplate(detail: string): MustacheError {
    return new MustacheError('mustache.invalid_template', `Invalid template: ${detail}`);
  }
  static render(detail: string): MustacheError {
    return new MustacheError('mustache.render_error', `Render error: Template render error: ${detail}`);
  }
  /** A template or a render past one of the limits (size, nesting, output, time). */
  static limit(detail: string): MustacheError {
    return new MustacheError('mustache.limit_exceeded', `Limit exceeded: ${detail}`);
  }
  static storage(detail: string): MustacheError {
    return new MustacheError('mustache.storage_error', `Storage error: ${detail}`);
  }
}
