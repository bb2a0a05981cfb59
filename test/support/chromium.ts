// Debian's Chromium, driven by playwright-core (which downloads no browser).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.PLEXUS_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export const chromiumMissing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (install it: apt-get install -y chromium)`;

/** A quiet, offline, throwaway Chromium. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium with a throwaway profile of its own, for a caller that wants a new, empty context per page load (the paint benchmark). */
export function launchChromiumBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

export interface LaunchedChromium {
  readonly context: BrowserContext;
  /** Closes the browser, then removes its profile. */
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile (`--user-data-dir`). */
export async function launchChromium(viewport = { width: 1280, height: 860 }): Promise<LaunchedChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'plexus-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}
