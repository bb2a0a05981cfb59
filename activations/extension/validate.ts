/**
 * Validates a manifest as a whole: the published JSON Schema (`schema/extension.schema.json`,
 * with ajv) and then the rules a schema cannot say (duplicates, members that must resolve,
 * secrets that must be declared, each route checked by its own transport). Every reason
 * names where in the manifest and what to do; the approval surface says what installing
 * it lets the hub do.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { type ExtensionManifest, MANIFEST_FORMAT, routeOf, transportOf, verbsOf } from './manifest.js';
import { transports } from './transports/index.js';

/** What installing a manifest lets the hub do: what a person approves. */
export interface ApprovalSurface {
  /** Binaries the `cli` capabilities may spawn. */
  bins: string[];
  /** Hosts beyond loopback the `local-rest` capabilities may reach. */
  hosts: string[];
  /** Directories the `cli` capabilities run in (`route.cwd`); absent when none names one. */
  dirs?: string[];
  /** Workflow members in other sources (`<source>.<name>`), a prompt-injection channel. */
  crossSource: string[];
  /** The verbs each capability needs, by its full id. */
  verbs: Record<string, string[]>;
}

export interface Verdict {
  valid: boolean;
  /** Why it is not valid: each names the place in the manifest and what to do. */
  reasons: string[];
  /** Valid but probably a mistake. */
  warnings: string[];
  surface: ApprovalSurface;
  /** The manifest, typed, when it passed the schema. */
  manifest?: ExtensionManifest;
}

export interface ValidateOptions {
  /**
   * Capability ids that exist outside this manifest (other installed extensions, the
   * hub's tree). Given: a cross-source workflow member not in it does not resolve.
   * Omitted: cross-source members are only listed in the approval surface.
   */
  known?: ReadonlySet<string>;
}

/** The shipped schema file: `schema/` at the package root, found from this module (in `activations/` or `dist/activations/`). */
export function extensionSchemaFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'schema', 'extension.schema.json');
    if (existsSync(file)) return file;
    const up = dirname(dir);
    if (up === dir) throw new Error('schema/extension.schema.json is missing from the plexus-hub package');
    dir = up;
  }
}

let manifestAjv: Ajv | undefined;
/** ajv on first use (a manifest to check): a start with no extension to install does not load it. */
function ajv(): Ajv {
  if (!manifestAjv) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    manifestAjv = new AjvClass({ strict: false, allErrors: true });
  }
  return manifestAjv;
}
let schemaCheck: ValidateFunction | undefined;

function checkSchema(value: unknown): ErrorObject[] {
  schemaCheck ??= ajv().compile(JSON.parse(readFileSync(extensionSchemaFile(), 'utf8')) as object);
  return schemaCheck(value) ? [] : (schemaCheck.errors ?? []);
}

/** `/capabilities/0/name` → `capabilities[0].name`. */
function place(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, s) => (/^\d+$/.test(s) ? `${out}[${s}]` : out ? `${out}.${s}` : s), '');
}

const HINTS: Record<string, string> = {
  source: 'use lower case letters, digits and _ (it becomes a path segment), e.g. "notes"',
  name: 'write <noun>.<verb> or a bare verb in lower case letters, digits and _, e.g. "vault.read"',
};

function schemaReason(e: ErrorObject): string {
  const where = place(e.instancePath) || '(the manifest)';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${where}: missing "${String(p.missingProperty)}"; add it`;
    case 'additionalProperties':
      return `${where}: unknown field "${String(p.additionalProperty)}"; remove it or check its spelling`;
    case 'enum':
      return `${where}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${where}: must be ${JSON.stringify(p.allowedValue)}`;
    case 'pattern': {
      const last = e.instancePath.split('/').pop() ?? '';
      return `${where}: ${HINTS[last] ?? `must match ${String(p.pattern)}`}`;
    }
    default:
      return `${where}: ${e.message ?? 'does not match the schema'}`;
  }
}

const sortedUnique = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** Validates `value` (parsed JSON) as an extension manifest. */
export function validateManifest(value: unknown, options: ValidateOptions = {}): Verdict {
  const surface: ApprovalSurface = { bins: [], hosts: [], crossSource: [], verbs: {} };
  const format = (value as { manifest?: unknown } | null)?.manifest;
  if (typeof value === 'object' && value !== null && format !== undefined && format !== MANIFEST_FORMAT) {
    return {
      valid: false,
      reasons: [`manifest: ${JSON.stringify(format)} is not a format this hub reads; write "${MANIFEST_FORMAT}"`],
      warnings: [],
      surface,
    };
  }
  const schemaErrors = checkSchema(value);
  if (schemaErrors.length > 0) {
    // A union's branch errors say less than the first concrete one; keep each place once.
    const reasons = sortedUnique(schemaErrors.filter((e) => e.keyword !== 'if').map(schemaReason));
    return { valid: false, reasons, warnings: [], surface };
  }
  const manifest = value as ExtensionManifest;
  const reasons: string[] = [];
  const warnings: string[] = [];
  const { source } = manifest;

  const declaredSecrets = new Set<string>();
  (manifest.secrets ?? []).forEach((s, i) => {
    if (declaredSecrets.has(s.name)) reasons.push(`secrets[${i}]: "${s.name}" is declared twice; keep one`);
    declaredSecrets.add(s.name);
  });

  const names = new Map<string, number>();
  manifest.capabilities.forEach((cap, i) => {
    const at = `capabilities[${i}] (${cap.name})`;
    const first = names.get(cap.name);
    if (first !== undefined) reasons.push(`${at}: the name "${cap.name}" is also capabilities[${first}]; names must be unique in a source`);
    else names.set(cap.name, i);
    const segments = cap.name.split('.');
    if (segments.at(-1) === 'schema') reasons.push(`${at}: "schema" is every activation's built-in method; name the capability otherwise`);
    if (segments[0] === source) {
      warnings.push(
        `${at}: the name repeats the source, so its id is ${source}.${cap.name}; drop the leading "${source}." unless you mean it`,
      );
    }
    surface.verbs[`${source}.${cap.name}`] = verbsOf(cap);
  });
  // A name is either a method or a child that holds others: `notes` and `notes.list` cannot both be.
  for (const name of names.keys()) {
    const parent = [...names.keys()].find((other) => other.startsWith(`${name}.`));
    if (parent)
      reasons.push(`capabilities[${names.get(name)}] (${name}): "${parent}" makes ${name} a group of capabilities; rename one of them`);
  }

  manifest.capabilities.forEach((cap, i) => {
    const at = `capabilities[${i}] (${cap.name})`;
    const kind = transportOf(manifest, cap);
    const transport = transports[kind];
    if (cap.kind !== 'skill' && cap.body !== undefined) warnings.push(`${at}: "body" is read only for kind "skill"; it is ignored here`);
    if (cap.kind !== 'workflow' && cap.members !== undefined)
      warnings.push(`${at}: "members" is read only for kind "workflow"; it is ignored here`);
    if ((cap.kind === 'skill' || cap.kind === 'workflow') && cap.transport !== undefined && cap.transport !== cap.kind) {
      reasons.push(`${at}: a ${cap.kind} runs on the ${cap.kind} transport; remove "transport": "${cap.transport}"`);
    }
    const input = cap.io?.input;
    if (input !== undefined) {
      if (input.type !== 'object') reasons.push(`${at}.io.input: params are an object; give a schema with "type": "object"`);
      else {
        try {
          ajv().compile(input);
        } catch (err) {
          reasons.push(`${at}.io.input: not a usable JSON Schema (${(err as Error).message})`);
        }
      }
    }
    // An unknown transport: the schema's reason already names the ones there are.
    if (!transport) return;
    const route = routeOf(manifest, cap);
    for (const r of transport.checkRoute(route, manifest).reasons) reasons.push(`${at}: ${r}`);
    const secret = (route as { secret?: { name?: unknown } } | null)?.secret?.name;
    if (typeof secret === 'string' && !declaredSecrets.has(secret)) {
      reasons.push(`${at}.route.secret: "${secret}" is not declared; add {"name": "${secret}"} to "secrets"`);
    }
    const reach = transport.approvalSurface(route);
    surface.bins.push(...(reach.bins ?? []));
    surface.hosts.push(...(reach.hosts ?? []));
    if (reach.dirs?.length) surface.dirs = [...(surface.dirs ?? []), ...reach.dirs];
    if (kind === 'workflow' && Array.isArray(cap.members)) {
      cap.members.forEach((member, j) => {
        const where = `${at}.members[${j}]`;
        if (member === `${source}.${cap.name}`) reasons.push(`${where}: a workflow cannot run itself`);
        else if (member.startsWith(`${source}.`)) {
          if (!names.has(member.slice(source.length + 1))) {
            reasons.push(`${where}: "${member}" does not resolve: ${source} has no capability "${member.slice(source.length + 1)}"`);
          }
        } else {
          surface.crossSource.push(member);
          if (options.known && !options.known.has(member)) {
            reasons.push(
              `${where}: "${member}" does not resolve to a capability of another installed source; install it first or fix the id`,
            );
          }
        }
      });
    }
  });
  if (manifest.health !== undefined && !names.has(manifest.health)) {
    reasons.push(`health: "${manifest.health}" is not one of this source's capabilities; name one (e.g. "status.get") or remove "health"`);
  }

  surface.bins = sortedUnique(surface.bins);
  surface.hosts = sortedUnique(surface.hosts);
  if (surface.dirs) surface.dirs = sortedUnique(surface.dirs);
  surface.crossSource = sortedUnique(surface.crossSource);
  const unique = sortedUnique(reasons);
  return { valid: unique.length === 0, reasons: unique, warnings, surface, manifest };
}

/** The surface as lines for a person to approve. */
export function describeSurface(surface: ApprovalSurface): string[] {
  const lines = [
    `binaries it may run: ${surface.bins.length > 0 ? surface.bins.join(', ') : '(none)'}`,
    `hosts beyond loopback it may reach: ${surface.hosts.length > 0 ? surface.hosts.join(', ') : '(none)'}`,
    ...(surface.dirs ? [`directories its programs run in: ${surface.dirs.join(', ')}`] : []),
    `capabilities of other sources its workflows call: ${surface.crossSource.length > 0 ? surface.crossSource.join(', ') : '(none)'}`,
    'verbs a caller needs, per capability:',
  ];
  for (const [id, verbs] of Object.entries(surface.verbs)) lines.push(`  ${id}: ${verbs.join(', ')}`);
  return lines;
}
