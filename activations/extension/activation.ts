/**
 * A manifest becomes an activation (`defineActivation`): the source is the activation,
 * each capability a method at its `<noun>.<verb>` child path (`vault.read` →
 * `<source>.vault.read`), its params schema from `io.input`, its description from
 * `describe`, its verbs from `grants`. Hashes, schemas, MCP, codegen and the explorer
 * read it like any other node. Each call checks its capability's health first (an
 * unavailable one fails at once with `source_unavailable`) and hands the route to the
 * capability's transport.
 */
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import { type Activation, type CallContext, type DynamicMethod, defineActivation, type JsonSchema, PlexusError } from '../../src/index.js';
import { type ExtensionCapability, type ExtensionManifest, routeOf, type TransportKind, transportOf, verbsOf } from './manifest.js';
import { transports } from './transports/index.js';
import type { WorkflowDispatch } from './transports/workflow.js';
import { ExtensionErrorCode, type SourceHealth, type TransportOptions } from './types.js';
import type { ApprovalSurface } from './validate.js';

/** A hub stream item, as an extension reads one (hub.call's items). */
export type HubItem = { type: string; content?: unknown; message?: string; code?: string };

export interface ExtensionContext {
  /** Secrets, approved hosts, resolver and process settings for the transports. */
  options: Omit<TransportOptions, 'approvedHosts'>;
  /** What the install approved (its hosts and cross-source members are the only ones used). */
  approved: ApprovalSurface;
  /** Calls a path through the hub as `principal` (a workflow's members). */
  call(path: string, params: Record<string, unknown>, opts: { signal: AbortSignal; principal: unknown }): AsyncIterable<HubItem>;
  /** The params schema of a method as `principal` sees it (a workflow's members). */
  paramsOf(path: string, principal: unknown): Promise<{ properties?: Record<string, unknown> } | undefined>;
  /** Answers a question a member asked (`hub.respond`; throws for an unknown id or a refused answer). */
  respond(requestId: string, value: unknown): void;
  /** Fails a question a member asked, saying why (`hub.rejectRequest`). */
  rejectRequest(requestId: string, reason: string): void;
  /** How long a health answer is trusted before a call checks again (default 5 s). */
  healthTtlMs?: number;
}

/** The returns schema of a skill: markdown, which the MCP bridge lists as a resource and a prompt. */
export const SKILL_RETURNS: JsonSchema = { type: 'string', contentMediaType: 'text/markdown' };

const WORKFLOW_RETURNS: JsonSchema = {
  type: 'object',
  description: "One member's data item and where it came from",
  properties: { member: { type: 'string' }, step: { type: 'integer' }, data: {} },
  required: ['member', 'step', 'data'],
};

/** How long a declared health capability may take before the source counts as unavailable. */
const HEALTH_CHECK_TIMEOUT_MS = 5000;

const RANK: Record<SourceHealth['status'], number> = { ok: 0, unknown: 1, degraded: 2, unavailable: 3 };

/** Health of one capability (its transport's requirements), cached for a while. */
class CapabilityHealth {
  #value: SourceHealth = { status: 'unknown', detail: 'not checked yet' };
  #at = 0;
  #pending?: Promise<SourceHealth>;

  constructor(
    private readonly check: () => Promise<SourceHealth>,
    private readonly ttlMs: number,
  ) {}

  get current(): SourceHealth {
    return this.#value;
  }

  /** The cached answer while fresh, else a new check (one at a time). */
  async fresh(): Promise<SourceHealth> {
    if (Date.now() - this.#at < this.ttlMs) return this.#value;
    this.#pending ??= this.check()
      .catch((err: Error) => ({ status: 'unavailable' as const, detail: err.message }))
      .then((h) => {
        this.#value = h;
        this.#at = Date.now();
        this.#pending = undefined;
        return h;
      });
    return this.#pending;
  }
}

/** The source's health from its capabilities': all ok is ok, all down is unavailable, some down is degraded. */
export function combineHealth(parts: readonly { id: string; health: SourceHealth }[]): SourceHealth {
  if (parts.length === 0) return { status: 'unknown', detail: 'no capabilities' };
  const bad = parts.filter((p) => p.health.status !== 'ok');
  if (bad.length === 0) return { status: 'ok', detail: parts.length === 1 ? parts[0]!.health.detail : 'every capability is ready' };
  const worst = bad.reduce((w, p) => (RANK[p.health.status] > RANK[w] ? p.health.status : w), 'ok' as SourceHealth['status']);
  const status = worst === 'unavailable' && bad.length < parts.length ? 'degraded' : worst;
  return { status, detail: bad.map((p) => `${p.id}: ${p.health.detail}`).join('; ') };
}

/** A built extension: its activation and its health. */
export interface BuiltExtension {
  activation: Activation;
  /** The source's health as last checked. */
  health(): SourceHealth;
  /** Checks every capability (or the declared health capability) again. */
  checkHealth(): Promise<SourceHealth>;
}

interface Node {
  methods: Record<string, DynamicMethod>;
  children: Map<string, Node>;
}

let outputAjv: Ajv | undefined;
/** ajv on first use (an extension with an output schema): a start with none does not load it. */
function ajv(): Ajv {
  if (!outputAjv) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    outputAjv = new AjvClass({ strict: false });
  }
  return outputAjv;
}

/** A framework mark (`progress(…)`), which the call stream turns into its own item. */
const isMark = (item: unknown): boolean => typeof item === 'object' && item !== null && '__plexus' in item;

/** Builds the activation of a valid manifest (validate it first: `validateManifest`). */
export function buildExtension(manifest: ExtensionManifest, ctx: ExtensionContext): BuiltExtension {
  const { source } = manifest;
  const ttl = ctx.healthTtlMs ?? 5000;
  const options: TransportOptions = { ...ctx.options, approvedHosts: ctx.approved.hosts };
  const healths = new Map<string, CapabilityHealth>();
  let declared: CapabilityHealth | undefined;

  const root: Node = { methods: {}, children: new Map() };
  for (const cap of manifest.capabilities) {
    const segments = cap.name.split('.');
    let node = root;
    for (const seg of segments.slice(0, -1)) {
      let child = node.children.get(seg);
      if (!child) node.children.set(seg, (child = { methods: {}, children: new Map() }));
      node = child;
    }
    const id = `${source}.${cap.name}`;
    const kind = transportOf(manifest, cap);
    const transport = transports[kind];
    const route = routeOf(manifest, cap);
    const health = new CapabilityHealth(() => transport.health(route, options), ttl);
    healths.set(id, health);
    node.methods[segments.at(-1)!] = methodOf(cap, id);
  }
  if (manifest.health !== undefined) {
    const cap = manifest.capabilities.find((c) => c.name === manifest.health)!;
    declared = new CapabilityHealth(() => declaredHealth(cap), ttl);
  }

  function methodOf(cap: ExtensionCapability, id: string): DynamicMethod {
    const kind = transportOf(manifest, cap);
    const output = cap.io?.output;
    const checkOutput: ValidateFunction | undefined = output ? ajv().compile(output) : undefined;
    const returns: JsonSchema =
      cap.kind === 'skill' ? SKILL_RETURNS : cap.kind === 'workflow' ? WORKFLOW_RETURNS : ((output as JsonSchema) ?? {});
    return {
      description: cap.describe,
      ...(cap.io?.input ? { params: cap.io.input as JsonSchema } : {}),
      returns,
      streaming: cap.kind !== 'skill',
      // A workflow passes its members' questions on to its caller.
      ...(cap.kind === 'workflow' ? { bidirectional: true } : {}),
      verbs: verbsOf(cap),
      handler: (params, callCtx) => run(cap, id, kind, params as Record<string, unknown>, callCtx, checkOutput),
    };
  }

  async function* run(
    cap: ExtensionCapability,
    id: string,
    kind: string,
    params: Record<string, unknown>,
    callCtx: CallContext,
    checkOutput: ValidateFunction | undefined,
  ): AsyncGenerator<unknown> {
    const transport = transports[kind as TransportKind];
    const own = await healths.get(id)!.fresh();
    const whole = declared && cap.name !== manifest.health ? await declared.fresh() : undefined;
    for (const h of [own, whole]) {
      if (h?.status === 'unavailable') {
        throw new PlexusError(ExtensionErrorCode.SourceUnavailable, `${id} is unavailable: ${h.detail}`, false, {
          source,
          capability: id,
          detail: h.detail,
        });
      }
    }
    const dispatchOptions: WorkflowDispatch = {
      ...options,
      signal: callCtx.signal,
      source,
      approvedMembers: ctx.approved.crossSource,
      call: (path, p, signal) => ctx.call(path, p, { signal, principal: callCtx.principal }) as AsyncIterable<never>,
      paramsOf: (path) => ctx.paramsOf(path, callCtx.principal),
      ask: (question) => callCtx.request(question),
      answer: (requestId, value) => ctx.respond(requestId, value),
      decline: (requestId, reason) => ctx.rejectRequest(requestId, reason),
    };
    try {
      for await (const item of transport.dispatch(routeOf(manifest, cap), params, dispatchOptions)) {
        if (isMark(item)) {
          yield item; // a member's progress, relayed by a workflow: not an output item
          continue;
        }
        if (checkOutput && !checkOutput(item)) {
          const e = checkOutput.errors?.[0];
          throw new PlexusError(
            ExtensionErrorCode.SchemaValidationFailed,
            `${id} answered an item its io.output schema refuses (${e?.instancePath || 'item'} ${e?.message ?? ''}); fix the service or the manifest's io.output`,
            false,
            { capability: id, at: e?.instancePath ?? '' },
          );
        }
        yield item;
      }
    } catch (err) {
      if (err instanceof PlexusError || callCtx.signal.aborted) throw err;
      throw new PlexusError(ExtensionErrorCode.TransportError, `${id}: ${(err as Error).message}`, false, { capability: id });
    }
  }

  /** The declared health capability, run directly: ok when it answers (its own `status` when it gives one). */
  async function declaredHealth(cap: ExtensionCapability): Promise<SourceHealth> {
    const transport = transports[transportOf(manifest, cap)];
    const signal = AbortSignal.timeout(HEALTH_CHECK_TIMEOUT_MS);
    try {
      let last: unknown;
      for await (const item of transport.dispatch(routeOf(manifest, cap), {}, { ...options, signal })) last = item;
      const said = (last as { status?: unknown; detail?: unknown } | undefined)?.status;
      if (said === 'ok' || said === 'degraded' || said === 'unavailable' || said === 'unknown') {
        const detail = (last as { detail?: unknown }).detail;
        return { status: said, detail: typeof detail === 'string' ? detail : `${source}.${cap.name} says ${said}` };
      }
      return { status: 'ok', detail: `${source}.${cap.name} answered` };
    } catch (err) {
      return { status: 'unavailable', detail: `${source}.${cap.name} failed: ${(err as Error).message}` };
    }
  }

  const current = (): SourceHealth => declared?.current ?? combineHealth([...healths].map(([id, h]) => ({ id, health: h.current })));

  const toActivation = (namespace: string, node: Node, top: boolean): Activation =>
    defineActivation({
      namespace,
      version: '0.1.0',
      description: top ? (manifest.describe ?? manifest.label ?? `Extension ${source}`) : `${source} capabilities under ${namespace}`,
      ...(top && manifest.label && manifest.describe ? { longDescription: manifest.label } : {}),
      methods: node.methods,
      ...(node.children.size > 0 ? { children: () => childList(node) } : {}),
      ...(top ? { health: current } : {}),
    });
  const childLists = new WeakMap<Node, Activation[]>();
  const childList = (node: Node): Activation[] => {
    let list = childLists.get(node);
    if (!list) childLists.set(node, (list = [...node.children].map(([name, child]) => toActivation(name, child, false))));
    return list;
  };

  return {
    activation: toActivation(source, root, true),
    health: current,
    async checkHealth() {
      await Promise.all([...healths.values()].map((h) => h.fresh()));
      if (declared) await declared.fresh();
      return current();
    },
  };
}
