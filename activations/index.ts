import { Echo } from './echo.js';
import { Health, type HealthOptions } from './health.js';
import { Solar } from './solar.js';

export { Echo, type EchoEvent } from './echo.js';
export { Health, type HealthOptions, type HealthStatus } from './health.js';
export { Solar, CelestialBody, type BodyInfo, type BodyType } from './solar.js';

/** Fresh instances of the activations `hub serve` starts with. */
export function builtinActivations(options: { health?: HealthOptions } = {}): object[] {
  return [new Echo(), new Health(options.health), new Solar()];
}
