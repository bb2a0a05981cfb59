import { activation, method } from '../../src/index.js';
import { type Clock, systemClock } from '../storage/clock.js';
import { type DatabaseOption, resolveDatabase, type SqliteDatabase } from '../storage/sqlite.js';
import { type GroupCommit, groupCommit } from '../storage/group-commit.js';
import { uuidParam } from '../storage/uuid.js';
import { MustacheError } from './errors.js';
import { checkTemplate, DEFAULT_RENDER_LIMITS, type RenderLimits } from './limits.js';
import { TemplateRenderer } from './render.js';
import { MustacheStorage } from './storage.js';
import type { TemplateInfo } from './types.js';

export interface MustacheOptions {
  /** An open database (shared with other activations), a file, or `:memory:`. Default: `hub.db` in the data dir. */
  readonly database?: DatabaseOption;
  readonly clock?: Clock;
  /** Template size, section nesting, output size and render time (see `DEFAULT_RENDER_LIMITS`). */
  readonly limits?: Partial<RenderLimits>;
}

/**
 * Mustache template rendering for handle values.
 *
 * A registry of templates keyed by (plugin_id, method, name): any caller may register
 * a template for any activation's method; `render` formats a value (an item of that
 * method) with it. Wire-compatible with the reference server's `mustache` (its newest
 * payloads: a rendered string, `TemplateInfo`, a count).
 */
@activation('mustache', { version: '1.0.0', description: 'Mustache template rendering for handle values' })
export class Mustache {
  readonly storage: MustacheStorage;
  readonly #db: SqliteDatabase;
  readonly #ownsDb: boolean;
  /** Writes of one event-loop turn share one transaction, answered after it commits. */
  readonly #batch: GroupCommit;
  readonly #limits: RenderLimits;
  /** Renders in a worker thread with a deadline, so no template can block the hub. */
  readonly #renderer: TemplateRenderer;

  constructor(options: MustacheOptions = {}) {
    const { db, owned } = resolveDatabase(options.database);
    this.#db = db;
    this.#ownsDb = owned;
    this.storage = new MustacheStorage(db, options.clock ?? systemClock);
    this.#batch = groupCommit(db);
    this.#limits = { ...DEFAULT_RENDER_LIMITS, ...options.limits };
    this.#renderer = new TemplateRenderer(this.#limits);
  }

  /** Stops the render worker and closes the database if mustache opened it. */
  close(): void {
    this.#renderer.close();
    if (this.#ownsDb && this.#db.open) this.#db.close();
  }

  /**
   * Render a value using a registered mustache template
   * @param plugin_id - UUID of the plugin that owns the template
   * @param method - Method name the template is for
   * @param template_name - Template name (defaults to 'default' if not specified)
   * @param value - JSON value to render with the template
   */
  @method()
  async render(plugin_id: string, method: string, value: unknown, template_name?: string | null): Promise<string> {
    const id = uuidParam('plugin_id', plugin_id);
    const name = template_name ?? 'default';
    const template = this.storage.get(id, method, name);
    if (template === undefined) throw MustacheError.templateNotFound(id, method, name);
    // Checked again here: a template stored before these limits (or under larger ones) may pass them.
    checkTemplate(template, this.#limits);
    return this.#renderer.render(template, value);
  }

  /**
   * Register a mustache template for a plugin method
   * @param plugin_id - UUID of the plugin that owns the template
   * @param method - Method name the template is for
   * @param name - Template name (e.g., 'default', 'compact', 'verbose')
   * @param template - Mustache template content
   */
  @method({ verbs: ['write'] })
  registerTemplate(plugin_id: string, method: string, name: string, template: string): Promise<TemplateInfo> {
    return this.#batch.run(() => {
      const id = uuidParam('plugin_id', plugin_id);
      checkTemplate(template, this.#limits);
      return this.storage.register(id, method, name, template);
    });
  }

  /**
   * List all templates registered for a plugin
   * @param plugin_id - UUID of the plugin
   */
  @method()
  listTemplates(plugin_id: string): TemplateInfo[] {
    return this.storage.list(uuidParam('plugin_id', plugin_id));
  }

  /**
   * Get a specific template by plugin, method, and name
   * @param plugin_id - UUID of the plugin
   * @param method - Method name
   * @param name - Template name
   */
  @method()
  getTemplate(plugin_id: string, method: string, name: string): string {
    const id = uuidParam('plugin_id', plugin_id);
    const template = this.storage.get(id, method, name);
    if (template === undefined) throw MustacheError.templateNotFound(id, method, name);
    return template;
  }

  /**
   * Delete a specific template
   * @param plugin_id - UUID of the plugin
   * @param method - Method name
   * @param name - Template name
   */
  @method({ verbs: ['write'] })
  deleteTemplate(plugin_id: string, method: string, name: string): Promise<number> {
    return this.#batch.run(() => {
      return this.storage.delete(uuidParam('plugin_id', plugin_id), method, name);
    });
  }
}
