/**
 * An agent's projection (agent-gateway §3): what the hub shows one agent — its granted
 * activations and methods, read from the hub's schema as that agent — rendered as the
 * files of a Claude Code plugin and as MCP server entries. Pure and deterministic:
 * the same schemas and grants give the same bytes (sorted, no timestamps, no hashes
 * of parts the agent cannot see). The artifact is a cache, never a permission: the
 * live hub refuses anything the grants no longer cover.
 */
import { createHash } from 'node:crypto';
import { toolName } from '../src/index.js';
import type { JsonSchema, MethodSchema, PluginSchema } from '../src/wire/index.js';

/** One granted method, as the agent sees it. */
export interface ProjectedMethod {
  readonly name: string;
  /** Full dot path (`solar.earth.info`). */
  readonly path: string;
  readonly description: string;
  readonly params?: JsonSchema;
  readonly returns?: JsonSchema;
  readonly streaming: boolean;
  readonly bidirectional: boolean;
  readonly verbs?: readonly string[];
}

/** An activation the agent sees (children first-class, so nesting is kept). */
export interface ProjectedActivation {
  readonly namespace: string;
  /** Dot path from the root (`solar.earth`). */
  readonly path: string;
  readonly description: string;
  readonly longDescription?: string;
  readonly methods: readonly ProjectedMethod[];
  readonly children: readonly ProjectedActivation[];
}

/** The hub as one agent sees it: its root name and the top-level activations it can reach. */
export interface AgentView {
  readonly root: string;
  readonly activations: readonly ProjectedActivation[];
}

/** Where schemas are read: the live hub, asked with the agent's own credential. */
export interface SchemaReader {
  schema(path?: string): Promise<PluginSchema | MethodSchema>;
}

/** Every activation's generated `schema` method is plumbing, not a capability. */
const isCapability = (m: MethodSchema) => m.hash !== 'auto_schema';

const byName = <T extends { namespace?: string; name?: string }>(a: T, b: T) =>
  (a.namespace ?? a.name ?? '') < (b.namespace ?? b.name ?? '') ? -1 : 1;

/**
 * Walks the tree the reader shows (root, then each child's schema). The hub filters
 * every schema by the caller's grants, so an ungranted method or activation never
 * reaches this walk; activations left without methods (only hidden ones) are dropped.
 */
export async function readAgentView(reader: SchemaReader): Promise<AgentView> {
  const root = (await reader.schema()) as PluginSchema;
  const visit = async (path: string): Promise<ProjectedActivation | undefined> => {
    const schema = (await reader.schema(path)) as PluginSchema;
    const methods = schema.methods
      .filter(isCapability)
      .map((m) => projectMethod(m, `${path}.${m.name}`))
      .sort(byName);
    const children: ProjectedActivation[] = [];
    for (const child of [...(schema.children ?? [])].sort(byName)) {
      const seen = await visit(`${path}.${child.namespace}`);
      if (seen) children.push(seen);
    }
    if (methods.length === 0 && children.length === 0) return undefined;
    return {
      namespace: schema.namespace,
      path,
      description: schema.description,
      ...(schema.long_description ? { longDescription: schema.long_description } : {}),
      methods,
      children,
    };
  };
  const activations: ProjectedActivation[] = [];
  for (const child of [...(root.children ?? [])].sort(byName)) {
    const seen = await visit(child.namespace);
    if (seen) activations.push(seen);
  }
  return { root: root.namespace, activations };
}

function projectMethod(m: MethodSchema, path: string): ProjectedMethod {
  return {
    name: m.name,
    path,
    description: m.description,
    ...(m.params ? { params: m.params } : {}),
    ...(m.returns ? { returns: m.returns } : {}),
    streaming: m.streaming,
    bidirectional: m.bidirectional,
    ...(m.verbs ? { verbs: [...m.verbs].sort() } : {}),
  };
}

/** Every method below an activation, depth first, in path order. */
export function methodsOf(a: ProjectedActivation): ProjectedMethod[] {
  return [...a.methods, ...a.children.flatMap(methodsOf)];
}

/** The MCP server entry that runs `hub mcp` as the agent against a running hub: by reference to the data dir, never a token. */
export interface McpServerEntry {
  readonly command: string;
  readonly args: readonly string[];
}

export interface ProxyCommand {
  /** node (absolute) and the `hub` script (absolute): Claude Desktop starts servers with a bare PATH. */
  readonly command: string;
  readonly hubArgs: readonly string[];
  readonly url: string;
  readonly agent: string;
  /** Absolute: the host starts the server from its own working directory. */
  readonly dataDir: string;
}

export function mcpServerEntry(p: ProxyCommand): McpServerEntry {
  return { command: p.command, args: [...p.hubArgs, 'mcp', '--url', p.url, '--agent', p.agent, '--data-dir', p.dataDir] };
}

/** Names Claude Code accepts for plugins, skills and servers: lowercase letters, digits, hyphens. */
export function kebab(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'agent'
  );
}

/** The server's key in `mcpServers`: the hub and the agent, so entries for several agents can sit side by side. */
export function serverName(root: string, agent: string): string {
  return kebab(`${root}-${agent}`);
}

// ---- the Claude Code plugin ------------------------------------------------

export interface PluginInput {
  readonly view: AgentView;
  readonly agent: string;
  readonly proxy: ProxyCommand;
}

/** Relative path → content; in path order. */
export type PluginFiles = ReadonlyMap<string, string>;

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Claude Code's plugin layout: `.claude-plugin/plugin.json`, `.mcp.json`, `skills/<activation>/SKILL.md`. */
export function renderPlugin(input: PluginInput): PluginFiles {
  const { view, agent, proxy } = input;
  const server = serverName(view.root, agent);
  const skills = new Map<string, string>();
  for (const a of view.activations) skills.set(`skills/${kebab(a.namespace)}/SKILL.md`, renderSkill(a, view.root, agent, server));
  // The version follows the content the grants decide (not paths or ports): a changed grant is a new version.
  const digest = createHash('sha256');
  for (const [path, text] of skills) digest.update(`${path}\0${text}\0`);
  const names = view.activations.map((a) => a.namespace);
  const plugin = {
    name: serverName(view.root, agent),
    version: `1.0.0+${digest.digest('hex').slice(0, 12)}`,
    description:
      `The ${view.root} hub as agent "${agent}" sees it: ` +
      (names.length > 0 ? `${names.join(', ')} (only what the agent is granted).` : 'nothing is granted yet.'),
    author: { name: `plexus-hub (hub agent export ${agent})` },
    keywords: ['plexus', 'mcp', ...names],
  };
  const files = new Map<string, string>([
    ['.claude-plugin/plugin.json', json(plugin)],
    ['.mcp.json', json({ mcpServers: { [server]: mcpServerEntry(proxy) } })],
    ...skills,
  ]);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A frontmatter value: a JSON string is a valid YAML double-quoted scalar, whatever it contains. */
const yamlString = (text: string) => JSON.stringify(text);

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

function renderSkill(a: ProjectedActivation, root: string, agent: string, server: string): string {
  const methods = methodsOf(a);
  const tools = methods.map((m) => m.path);
  const summary = oneLine(a.description) || `The ${a.namespace} activation`;
  const description = `${summary.replace(/\.$/, '')}. Use when a task needs ${a.namespace} on the ${root} hub: ${
    methods.length === 1 ? 'its method' : `its ${methods.length} methods`
  } ${tools.join(', ')}, called as MCP tools of the ${server} server.`;
  const lines = [
    '---',
    `name: ${yamlString(kebab(a.namespace))}`,
    `description: ${yamlString(description.length > 1024 ? `${description.slice(0, 1021)}...` : description)}`,
    '---',
    '',
    `# ${a.namespace}`,
    '',
    a.description.trim(),
    ...(a.longDescription ? ['', a.longDescription.trim()] : []),
    '',
    '## When to use it',
    '',
    `When the task needs what \`${a.namespace}\` offers on the \`${root}\` hub (above). Each method below is an MCP tool of the \`${server}\` server in this plugin, named by its dot path (\`${toolName(tools[0]!, 'dotted')}\`; \`${toolName(tools[0]!, 'underscore')}\` in clients that reject dots). Call a tool with its params as the JSON arguments; a streaming method returns its items as a list.`,
    '',
    `These are exactly the methods agent \`${agent}\` is granted. Anything else is not: the hub answers it as unknown, and it refuses a method whose grant was withdrawn after this skill was written.`,
  ];
  for (const ns of [a, ...descendants(a)]) {
    if (ns !== a && ns.methods.length > 0) lines.push('', `## ${ns.path}`, '', ns.description.trim());
    for (const m of ns.methods) lines.push('', ...renderMethod(m));
  }
  return `${lines.join('\n')}\n`;
}

function descendants(a: ProjectedActivation): ProjectedActivation[] {
  return a.children.flatMap((c) => [c, ...descendants(c)]);
}

function renderMethod(m: ProjectedMethod): string[] {
  const out = [`### ${m.path}`, '', m.description.trim() || '(no description)', ''];
  const traits = [
    m.streaming ? 'Streams its results (several items)' : 'Returns one result',
    ...(m.bidirectional ? ['may ask the caller questions while it runs'] : []),
  ];
  if (m.verbs?.length) traits.push(`needs ${m.verbs.join(', ')}`);
  if (m.verbs?.includes('execute')) traits.push('a call may wait until the hub owner approves it');
  out.push(`${traits.join('; ')}.`, '');
  const params = paramsOf(m.params);
  if (params.length === 0) out.push('Params: none.');
  else {
    out.push('Params:', '');
    for (const p of params) {
      const flags = [
        p.type,
        p.required ? 'required' : 'optional',
        ...(p.default !== undefined ? [`default ${JSON.stringify(p.default)}`] : []),
      ];
      out.push(`- \`${p.name}\` (${flags.join(', ')})${p.description ? `: ${oneLine(p.description)}` : ''}`);
    }
  }
  const returns = m.returns ? typeOf(m.returns, defsOf(m.returns)) : 'nothing';
  out.push('', `Returns: ${m.streaming ? `items of ${returns}` : returns}.`, '', 'Example call:', '', '```json');
  out.push(JSON.stringify({ tool: toolName(m.path, 'dotted'), arguments: exampleArguments(m.params) }), '```');
  return out;
}

interface Param {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
  readonly description?: string;
  readonly default?: unknown;
}

type Defs = Readonly<Record<string, JsonSchema>>;

function defsOf(schema: JsonSchema | undefined): Defs {
  return ((schema?.$defs ?? schema?.definitions) as Defs | undefined) ?? {};
}

function propertiesOf(schema: JsonSchema | undefined): [string, JsonSchema][] {
  return Object.entries((schema?.properties as Record<string, JsonSchema> | undefined) ?? {});
}

function paramsOf(schema: JsonSchema | undefined): Param[] {
  const defs = defsOf(schema);
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return propertiesOf(schema).map(([name, s]) => ({
    name,
    type: typeOf(s, defs),
    required: required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    ...(s.default !== undefined ? { default: s.default } : {}),
  }));
}

const REF = /^#\/(?:\$defs|definitions)\/(.+)$/;

/** A short, readable type: `string`, `"a" | "b"`, `Item[]`, a `$ref`'s name, `{ a, b? }`. */
function typeOf(s: JsonSchema, defs: Defs, depth = 0): string {
  if (typeof s.$ref === 'string') {
    const name = decodeURIComponent(REF.exec(s.$ref)?.[1] ?? s.$ref);
    const target = defs[name];
    // A generated name for a plain map (`Record_string_string`) says less than its shape.
    if (target && target.type === 'object' && !target.properties && !target.title)
      return typeof target.additionalProperties === 'object' && depth < 3
        ? `{ [key: string]: ${typeOf(target.additionalProperties as JsonSchema, defs, depth + 1)} }`
        : 'object';
    return name;
  }
  if (typeof s.title === 'string' && depth > 0) return s.title;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) return union.map((u) => typeOf(u, defs, depth + 1)).join(' | ');
  const type = s.type;
  if (Array.isArray(type)) return type.join(' | ');
  if (type === 'array') return `${s.items ? typeOf(s.items as JsonSchema, defs, depth + 1) : 'unknown'}[]`;
  if (type === 'object' || s.properties) {
    if (typeof s.title === 'string') return s.title;
    const props = propertiesOf(s);
    if (props.length === 0 || depth > 1) return 'object';
    const required = new Set((s.required as string[] | undefined) ?? []);
    return `{ ${props.map(([k]) => `${k}${required.has(k) ? '' : '?'}`).join(', ')} }`;
  }
  return typeof type === 'string' ? type : 'any';
}

/** Arguments that show the shape: the required params and those with a default (its value), else a value of its type. */
function exampleArguments(schema: JsonSchema | undefined): Record<string, unknown> {
  const defs = defsOf(schema);
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return Object.fromEntries(
    propertiesOf(schema)
      .filter(([name, s]) => required.has(name) || s.default !== undefined)
      .map(([name, s]) => [name, exampleOf(s, defs, name, 0)]),
  );
}

function exampleOf(s: JsonSchema, defs: Defs, name: string, depth: number): unknown {
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if (typeof s.$ref === 'string') {
    const target = defs[decodeURIComponent(REF.exec(s.$ref)?.[1] ?? '')];
    return target && depth < 4 ? exampleOf(target, defs, name, depth + 1) : {};
  }
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union) && union.length > 0) return exampleOf(union.find((u) => u.type !== 'null') ?? union[0]!, defs, name, depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      return `<${name}>`;
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return [];
    default: {
      if (depth >= 4) return {};
      const required = new Set((s.required as string[] | undefined) ?? []);
      return Object.fromEntries(
        propertiesOf(s)
          .filter(([k]) => required.has(k))
          .map(([k, v]) => [k, exampleOf(v, defs, k, depth + 1)]),
      );
    }
  }
}
