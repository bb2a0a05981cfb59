import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { activationMetadata, isActivation } from '../src/activation/index.js';

const TYPESCRIPT = /\.(m|c)?tsx?$/;
let hooksRegistered = false;

/**
 * Imports a user's module. A TypeScript one registers our hooks first (once:
 * user-module-hooks.ts, which compiles every user `.ts` as an ES module with our
 * decorator settings, whatever the project's package type or tsconfig, and calls tsx
 * for what only tsx does). Only the user's files go through them; the framework
 * itself is the compiled copy that `import … from 'plexus-hub'` also resolves to, so
 * its classes exist once.
 */
export async function importUserModule(spec: string): Promise<Record<string, unknown>> {
  const url = /^[a-z]+:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec) ? spec : pathToFileURL(resolve(spec)).href;
  if (TYPESCRIPT.test(new URL(url).pathname) && !hooksRegistered) {
    hooksRegistered = true;
    // Stack traces point into the user's .ts (the compiled modules carry inline source maps), as under tsx.
    process.setSourceMapsEnabled(true);
    register(new URL('./user-module-hooks.js', import.meta.url));
  }
  return (await import(url)) as Record<string, unknown>;
}

/**
 * The activations a module exports: `@activation` classes (instantiated with no
 * arguments), instances of them, and ready-made `Activation` objects.
 */
export async function loadActivations(modules: readonly string[]): Promise<object[]> {
  const found: object[] = [];
  for (const spec of modules) {
    const mod = await importUserModule(spec);
    const before = found.length;
    for (const value of Object.values(mod)) {
      if (typeof value === 'function' && activationMetadata(value)?.namespace !== undefined) {
        found.push(new (value as new () => object)());
      } else if (typeof value === 'object' && value !== null && (isActivation(value) || activationMetadata(value.constructor))) {
        found.push(value);
      }
    }
    if (found.length === before)
      throw new Error(`${spec} exports no activation (an @activation class, an instance of one, or an Activation)`);
  }
  return found;
}
