import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { activationMetadata } from '../activation/decorators.js';
import { isActivation } from '../activation/types.js';

/**
 * The activations a module exports: `@activation` classes (instantiated with no
 * arguments), instances of them, and ready-made `Activation` objects.
 */
export async function loadActivations(modules: readonly string[]): Promise<object[]> {
  const found: object[] = [];
  for (const spec of modules) {
    const url = /^[a-z]+:/i.test(spec) ? spec : pathToFileURL(resolve(spec)).href;
    const mod = (await import(url)) as Record<string, unknown>;
    const before = found.length;
    for (const value of Object.values(mod)) {
      if (typeof value === 'function' && activationMetadata(value)?.namespace !== undefined) {
        found.push(new (value as new () => object)());
      } else if (typeof value === 'object' && value !== null && (isActivation(value) || activationMetadata(value.constructor))) {
        found.push(value);
      }
    }
    if (found.length === before) throw new Error(`${spec} exports no activation (an @activation class, an instance of one, or an Activation)`);
  }
  return found;
}
