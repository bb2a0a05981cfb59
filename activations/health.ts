import { activation, method, type NodeHealth } from '../src/index.js';

/** The hub's health. */
export interface HealthStatus {
  status: 'ok';
  /** Seconds since this activation was created. */
  uptime_seconds: number;
  /** Unix seconds when the process started serving. */
  started_at: number;
  /** The health of each node that reports one (an installed extension: its binary, its host), by name; absent when none does. */
  sources?: { [name: string]: NodeHealth };
}

export interface HealthOptions {
  /** Where `check` reads the nodes' health from (the hub's extension sources). */
  readonly sources?: () => Record<string, NodeHealth>;
}

/** Liveness and uptime of the hub process. */
@activation('health', { version: '1.0.0', legacyWire: true })
export class Health {
  readonly #started = Date.now();

  constructor(private readonly options: HealthOptions = {}) {}

  /** Report status and uptime. */
  @method()
  check(): HealthStatus {
    const sources = this.options.sources?.() ?? {};
    return {
      status: 'ok',
      uptime_seconds: Math.floor((Date.now() - this.#started) / 1000),
      started_at: Math.floor(this.#started / 1000),
      ...(Object.keys(sources).length > 0 ? { sources } : {}),
    };
  }
}
