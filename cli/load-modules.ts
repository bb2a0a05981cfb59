import { register } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { activationMetadata, isActivation } from '../src/activation/index.js';
import { checkLinked, type OwnPackage, ownPackage } from './linked-module.js';

const TYPESCRIPT = /\.(m|c)?tsx?$/;

/**
 * This package, when `hub` runs its compiled copy (dist/cli/ → the root); from sources
 * under tsx, none (tsx's hooks are in place). Read on the first TypeScript module: a
 * start without one does not read package.json for it.
 */
let own: OwnPackage | null | undefined;
function thisPackage(): OwnPackage | undefined {
  own ??= import.meta.url.endsWith('.js') ? ownPackage(fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '')) : null;
  return own ?? undefined;
}

/** The port to the module hooks, once registered. */
let hooks: MessagePort | undefined;

function registerHooks(): MessagePort {
  if (hooks) return hooks;
  // Stack traces point into the user's .ts (the compiled modules carry inline source maps), as under tsx.
  process.setSourceMapsEnabled(true);
  const { port1, port2 } = new MessageChannel();
  register(new URL('./user-module-hooks.js', import.meta.url), { data: { port: port2, own: thisPackage() }, transferList: [port2] });
  port1.unref();
  hooks = port1;
  return port1;
}

/** How long the process is held for a linked copy to be written: it only speeds up the next start. */
const LINK_WAIT_MS = 5000;

/** Asks the hooks thread to write the linked copy of a module it just loaded, for the next start. */
function link(port: MessagePort, url: string): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      clearTimeout(timer);
      port.off('message', answered);
      port.unref();
      done();
    };
    const answered = (reply: { link: string }) => {
      if (reply.link === url) finish();
    };
    const timer = setTimeout(finish, LINK_WAIT_MS);
    port.on('message', answered);
    port.postMessage({ link: url });
  });
}

const toUrl = (spec: string) => (/^[a-z]+:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec) ? spec : pathToFileURL(resolve(spec)).href);
const isTypeScript = (url: string) => TYPESCRIPT.test(new URL(url).pathname);

/** How each module was imported in this process: a module imported twice by two routes would exist twice. */
const imported = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Imports a user's modules. TypeScript ones are imported from their linked copies
 * (linked-module.ts: compiled, imports resolved, no hooks needed) when every one of
 * them has a copy that still holds; else through our hooks, registered once
 * (user-module-hooks.ts, which compiles every user `.ts` as an ES module with our
 * decorator settings, whatever the project's package type or tsconfig, and calls tsx
 * for what only tsx does), which then write the linked copies for the next start.
 * Only the user's files go through them; the framework itself is the compiled copy
 * that `import … from 'plexus-hub'` also resolves to, so its classes exist once.
 */
export async function importUserModules(specs: readonly string[]): Promise<Record<string, unknown>[]> {
  const urls = specs.map(toUrl);
  const fresh = urls.filter((url) => !imported.has(url) && isTypeScript(url));
  const pkg = fresh.length > 0 && !hooks ? thisPackage() : undefined;
  const linked = pkg ? fresh.map((url) => checkLinked(url, pkg)) : [];
  if (fresh.length > 0 && linked.length === fresh.length && linked.every((l) => l !== undefined)) {
    process.setSourceMapsEnabled(true);
    for (const [i, url] of fresh.entries()) imported.set(url, import(linked[i]!) as Promise<Record<string, unknown>>);
  }
  const modules: Record<string, unknown>[] = [];
  for (const url of urls) {
    let mod = imported.get(url);
    if (!mod) {
      const port = isTypeScript(url) ? registerHooks() : undefined;
      mod = (import(url) as Promise<Record<string, unknown>>).then((m) => {
        // Not awaited: the copy is for the next start (a cold one extracts schemas meanwhile);
        // the port holds the process until the answer, so `hub prepare` still leaves it.
        if (port && thisPackage()) void link(port, url);
        return m;
      });
      imported.set(url, mod);
    }
    modules.push(await mod);
  }
  return modules;
}

export async function importUserModule(spec: string): Promise<Record<string, unknown>> {
  return (await importUserModules([spec]))[0]!;
}

/**
 * The activations a module exports: `@activation` classes (instantiated with no
 * arguments), instances of them, and ready-made `Activation` objects.
 */
export async function loadActivations(specs: readonly string[]): Promise<object[]> {
  const found: object[] = [];
  const modules = await importUserModules(specs);
  for (const [i, mod] of modules.entries()) {
    const before = found.length;
    for (const value of Object.values(mod)) {
      if (typeof value === 'function' && activationMetadata(value)?.namespace !== undefined) {
        found.push(new (value as new () => object)());
      } else if (typeof value === 'object' && value !== null && (isActivation(value) || activationMetadata(value.constructor))) {
        found.push(value);
      }
    }
    if (found.length === before)
      throw new Error(`${specs[i]} exports no activation (an @activation class, an instance of one, or an Activation)`);
  }
  return found;
}
