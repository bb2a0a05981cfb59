/** A registered template, without its source (`mustache/types.rs` `TemplateInfo`). */
export interface TemplateInfo {
  id: string;
  /** UUID of the activation that owns the template's method. */
  plugin_id: string;
  method: string;
  name: string;
  /** Unix seconds. */
  created_at: number;
  updated_at: number;
}
