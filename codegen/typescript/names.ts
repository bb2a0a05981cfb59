/** Identifier rules for the TypeScript emitter. */

import { pascalCase as sharedPascalCase } from '../names.js';

/** Global type names a generated type must not shadow. */
const GLOBAL_TYPES = new Set(
  'Array Boolean Date Error Function Map Number Object Partial Pick Omit Promise Readonly ReadonlyArray Record Required Set String Symbol Uint8Array Exclude Extract'.split(
    ' ',
  ),
);

/** A property key as written in an object literal or type: bare when possible, quoted otherwise. */
export function propertyKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

/** `solar.earth.luna` → `SolarEarthLuna`, never a global type's name. */
export function pascalCase(raw: string): string {
  return sharedPascalCase(raw, GLOBAL_TYPES);
}
