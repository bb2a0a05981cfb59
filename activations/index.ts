import { Echo } from './echo.js';
import { Health } from './health.js';
import { Solar } from './solar.js';

export { Echo, type EchoEvent } from './echo.js';
export { Health, type HealthStatus } from './health.js';
export { Solar, CelestialBody, type BodyInfo, type BodyType } from './solar.js';

/** Fresh instances of the activations `hub serve` starts with. */
export function builtinActivations(): object[] {
  return [new Echo(), new Health(), new Solar()];
}
