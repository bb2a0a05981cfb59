import { activation, method } from '../src/index.js';

/** The hub's health. */
export interface HealthStatus {
  status: 'ok';
  /** Seconds since this activation was created. */
  uptime_seconds: number;
  /** Unix seconds when the process started serving. */
  started_at: number;
}

/** Liveness and uptime of the hub process. */
@activation('health', { version: '1.0.0', legacyWire: true })
export class Health {
  readonly #started = Date.now();

  /** Report status and uptime. */
  @method()
  check(): HealthStatus {
    return {
      status: 'ok',
      uptime_seconds: Math.floor((Date.now() - this.#started) / 1000),
      started_at: Math.floor(this.#started / 1000),
    };
  }
}
