/**
 * The installed extensions of a running hub: loaded from the store at start (they come
 * back after a restart), kept in step with it while the hub runs (an add or a remove by
 * `hub extension` is registered or unregistered within a poll, which changes the tree
 * and so fires MCP `tools/list_changed`), and their health.
 */
import type { AuditEvent, DynamicHub } from '../../src/index.js';
import type { BuiltExtension, HubItem } from './activation.js';
import { ExtensionStore, type InstalledExtension } from './store.js';
import type { SourceHealth, TransportOptions } from './types.js';

export interface ExtensionHostOptions {
  dataDir: string;
  /** Secrets, resolver and process settings handed to the transports. */
  transport: Omit<TransportOptions, 'approvedHosts'>;
  /** Appends to the hub's audit log, when it has one (records the CLI left pending). */
  audit?: (event: AuditEvent) => void;
  /** How often the store is checked for changes (default 500 ms). */
  pollMs?: number;
  /** How long a capability's health answer is trusted (default 5 s). */
  healthTtlMs?: number;
  log?: (line: string) => void;
}

interface Loaded {
  record: InstalledExtension;
  built: BuiltExtension;
}

export class ExtensionHost {
  readonly store: ExtensionStore;
  #loaded = new Map<string, Loaded>();
  #stamp?: string;
  #timer?: NodeJS.Timeout;

  constructor(
    readonly hub: DynamicHub,
    readonly options: ExtensionHostOptions,
  ) {
    this.store = new ExtensionStore(options.dataDir);
  }

  /** Loads what is installed, checks its health, and starts following the store. */
  async start(): Promise<void> {
    await this.sync();
    // A store that cannot be read now (a file mid-edit, a permission) is logged and tried again next poll.
    this.#timer = setInterval(
      () => void this.sync().catch((err: Error) => this.#log(`extensions: ${err.message}`)),
      this.options.pollMs ?? 500,
    );
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** The sources now registered. */
  sources(): string[] {
    return [...this.#loaded.keys()].sort();
  }

  /** Each registered source's health as last checked. */
  health(): Record<string, SourceHealth> {
    return Object.fromEntries([...this.#loaded].map(([source, l]) => [source, l.built.health()]));
  }

  /** Applies the store's changes to the hub (and appends audit records the CLI left); one at a time. */
  sync(): Promise<void> {
    const run = this.#syncing.then(() => this.#sync());
    this.#syncing = run.catch(() => {});
    return run;
  }

  #syncing: Promise<void> = Promise.resolve();

  async #sync(): Promise<void> {
    if (this.options.audit) this.store.drainPendingAudit(this.options.audit);
    const stamp = this.store.stamp();
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    const { installed, broken } = this.store.list();
    for (const b of broken) this.#log(`extension ${b.source}: skipped: ${b.error}`);
    const wanted = new Map(installed.map((r) => [r.manifest.source, r]));
    const checks: Promise<unknown>[] = [];
    for (const [source, loaded] of this.#loaded) {
      const now = wanted.get(source);
      if (now && JSON.stringify(now) === JSON.stringify(loaded.record)) continue;
      this.hub.unregister(source);
      this.#loaded.delete(source);
      if (!now) this.#log(`extension ${source}: removed`);
    }
    // The manifest checks and the transports (with their process and HTTP machinery) are
    // loaded when there is an extension to register: a start with none does not load them.
    const toLoad = [...wanted].filter(([source]) => !this.#loaded.has(source));
    if (toLoad.length === 0) return;
    const [{ buildExtension }, { validateManifest }] = await Promise.all([import('./activation.js'), import('./validate.js')]);
    for (const [source, record] of toLoad) {
      const verdict = validateManifest(record.manifest);
      if (!verdict.valid) {
        this.#log(`extension ${source}: skipped, its manifest is not valid: ${verdict.reasons.join('; ')}`);
        continue;
      }
      const built = buildExtension(record.manifest, {
        options: this.options.transport,
        approved: record.approved,
        call: (path, params, opts) => this.hub.call(path, params, opts) as AsyncIterable<HubItem>,
        paramsOf: async (path, principal) => {
          const schema = await this.hub.schema(path, { principal });
          return 'params' in schema ? (schema.params as { properties?: Record<string, unknown> }) : undefined;
        },
        respond: (requestId, value) => this.hub.respond(requestId, value),
        rejectRequest: (requestId, reason) => void this.hub.rejectRequest(requestId, reason),
        ...(this.options.healthTtlMs !== undefined ? { healthTtlMs: this.options.healthTtlMs } : {}),
      });
      try {
        this.hub.register(built.activation);
      } catch (err) {
        this.#log(`extension ${source}: skipped: ${(err as Error).message}`);
        continue;
      }
      this.#loaded.set(source, { record, built });
      this.#log(`extension ${source}: registered (${record.manifest.capabilities.length} capabilities)`);
      checks.push(built.checkHealth());
    }
    await Promise.all(checks);
  }

  /** Checks every source's health again. */
  async checkHealth(): Promise<Record<string, SourceHealth>> {
    await Promise.all([...this.#loaded.values()].map((l) => l.built.checkHealth()));
    return this.health();
  }

  #log(line: string): void {
    this.options.log?.(`plexus-hub: ${line}`);
  }
}
