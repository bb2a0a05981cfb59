/**
 * The extension manifest (`plexus-extension/0.1`, agent-gateway model §1): a source and
 * its capabilities, as a hub owner writes it. `schema/extension.schema.json` is generated
 * from these types (test/extensions/manifest.test.ts keeps it in step), so the JSDoc
 * tags below are the published schema's constraints.
 */

/** The manifest format this hub reads. */
export const MANIFEST_FORMAT = 'plexus-extension/0.1';

/** The transports a capability may name. */
export type TransportKind = 'cli' | 'local-rest' | 'skill' | 'workflow';

/** What a capability needs from its caller (the hub's verbs). */
export type GrantVerb = 'read' | 'write' | 'execute';

export interface ExtensionManifest {
  /** Optional pointer to this schema, for editors. */
  $schema?: string;
  /** The format: always `plexus-extension/0.1`. */
  manifest: 'plexus-extension/0.1';
  /**
   * The extension's id: it becomes an activation at the hub's root, so one path segment
   * (lower case letters, digits, `_`).
   * @pattern ^[a-z][a-z0-9_]*$
   */
  source: string;
  /** A human-readable name. */
  label?: string;
  /** The source's description (the activation's). */
  describe?: string;
  /** The transport of capabilities that do not name one. */
  transport?: TransportKind;
  /** @minItems 1 */
  capabilities: ExtensionCapability[];
  /** The secrets (by name only; never a value) the routes may attach. */
  secrets?: ExtensionSecret[];
  /** How to find or start the local service (shown to the owner, never run). */
  serviceHint?: string;
  /** A capability (its name) whose successful answer says the source is healthy; otherwise health comes from the transports' requirements. */
  health?: string;
}

export interface ExtensionCapability {
  /**
   * `<noun>.<verb>` (a child path: `vault.read` is `<source>.vault.read`) or a bare verb;
   * each segment lower case letters, digits, `_`.
   * @pattern ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$
   */
  name: string;
  /** `capability` (default) runs its transport; `skill` returns guidance; `workflow` runs members. */
  kind?: 'capability' | 'skill' | 'workflow';
  label?: string;
  /** What it does, when to use it and which inputs it takes: the caller's (an agent's) relevance signal. */
  describe: string;
  io?: {
    /** JSON Schema of the params (an object schema). */
    input?: JsonSchemaObject;
    /** JSON Schema of one item it streams. */
    output?: JsonSchemaObject;
  };
  /**
   * The verbs a caller must be granted (default `read`).
   * @minItems 1
   */
  grants?: GrantVerb[];
  /** This capability's transport (default: the manifest's; `skill`/`workflow` for those kinds). */
  transport?: TransportKind;
  /** The transport's own settings, read by that transport only. */
  route?: unknown;
  /** Skills: the markdown guidance returned when called and listed as an MCP resource and prompt. */
  body?: string;
  /** Workflows: the full ids (`<source>.<name>`) of the capabilities run in order. */
  members?: string[];
}

/** A JSON Schema, as an object. */
export interface JsonSchemaObject {
  [keyword: string]: unknown;
}

export interface ExtensionSecret {
  /**
   * The secret's name in the hub's store (`hub secret set <name>`).
   * @pattern ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$
   */
  name: string;
  /** What it is for, shown to the owner. */
  describe?: string;
}

/** The transport a capability runs on: its own, its kind's, else the manifest's (default `cli`). */
export function transportOf(manifest: ExtensionManifest, cap: ExtensionCapability): TransportKind {
  if (cap.kind === 'skill') return 'skill';
  if (cap.kind === 'workflow') return 'workflow';
  return cap.transport ?? manifest.transport ?? 'cli';
}

/** What a transport is handed as its route: skills and workflows carry theirs as fields. */
export function routeOf(manifest: ExtensionManifest, cap: ExtensionCapability): unknown {
  const kind = transportOf(manifest, cap);
  if (kind === 'skill') return cap.route ?? { body: cap.body };
  if (kind === 'workflow') return cap.route ?? { members: cap.members ?? [] };
  return cap.route;
}

/** The verbs a capability needs. */
export function verbsOf(cap: ExtensionCapability): GrantVerb[] {
  return cap.grants && cap.grants.length > 0 ? [...new Set(cap.grants)] : ['read'];
}
