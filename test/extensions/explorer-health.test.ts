/**
 * The explorer shows a source's health (the `health` field of its schema) in its node
 * view, in Chromium against a real hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumMissing, launchChromium, type LaunchedChromium } from '../support/chromium.js';
import { ensureBuilt } from '../support/built.js';
import { DynamicHub, defineActivation } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { explorerHandler } from '../../src/http/explorer.js';

describe('the explorer shows a source’s health', { skip: chromiumMissing }, () => {
  const health = { status: 'unavailable' as const, detail: 'binary frob is not on PATH' };
  const hub = new DynamicHub().register(
    defineActivation({
      namespace: 'tools',
      description: 'An extension source',
      health: () => health,
      methods: { frob: { handler: () => 1 } },
    }),
  );
  let server: PlexusServer;
  let browser: LaunchedChromium;

  before(async () => {
    ensureBuilt();
    await hub.ready();
    server = await serveWebSocket(hub, { port: 0, http: explorerHandler() });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close({ graceMs: 0 });
  });

  it('status and detail in the node view', async () => {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${server.port}/#/n/tools`);
    const shown = page.getByTestId('health');
    await shown.waitFor();
    assert.equal((await shown.textContent())?.trim(), 'unavailable binary frob is not on PATH');
    assert.equal(await shown.locator('.tag.health-unavailable').count(), 1);
    await page.close();
  });
});
