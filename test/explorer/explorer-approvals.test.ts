// Issue #28 §2: the explorer as the owner's session. Opened with the owner code `hub serve`
// prints (`/?owner=…`), it shows execute calls waiting for approval as they come, and
// its Approve / Deny decide them; the code then leaves the address bar and a second page
// with it is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Bash } from '../../activations/bash.js';
import { parseGrant } from '../../src/auth/grants.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { explorerHandler } from '../../src/http/explorer.js';
import { DynamicHub } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { chromiumMissing, launchChromium, type LaunchedChromium } from '../support/chromium.js';
import { RawClient } from '../support/raw-client.js';

if (chromiumMissing) console.log(`# skipped: ${chromiumMissing}`);

describe('the explorer approves and denies execute calls in an owner session (Chromium)', { skip: chromiumMissing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-explorer-approvals-'));
  const { token } = new TokenStore(dir).create({ name: 'agent', hub: 'plexus', grants: [parseGrant('bash.execute:execute')] });
  const auth = new HubAuth({ hub: 'plexus', dataDir: dir, limiter: { burst: 1000 } });
  const hub = new DynamicHub('plexus', { policy: auth }).register(new Bash({ cwd: dir }));
  let server: PlexusServer;
  let browser: LaunchedChromium;
  let agent: RawClient;
  let page: Page;
  const pageErrors: string[] = [];

  // A TCP proxy between a page and the hub, so a test can cut the page's connection.
  const sockets = new Set<Socket>();
  let accepted = 0;
  const proxy = createServer((down) => {
    accepted++;
    const up = connectTcp(server.port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {}).on('close', () => sockets.delete(s));
    }
    down.pipe(up).pipe(down);
  });
  let proxyPort: number;

  before(async () => {
    await hub.ready();
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
    server = await serveWebSocket(hub, { port: 0, http: explorerHandler(), allowedHosts: [`127.0.0.1:${proxyPort}`] });
    browser = await launchChromium();
    agent = await RawClient.open(server.url, { headers: { authorization: `Bearer ${token}` } });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    proxy.close();
    agent?.close();
    await browser?.close();
    await server?.close({ graceMs: 0 });
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opened with the owner code: a pending call appears live, Approve runs it, Deny fails the next with execute_not_approved', async () => {
    const { code } = auth.owner!.issueCode();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.port}/?owner=${code}`);
    const panel = page.getByTestId('approvals');
    await panel.waitFor({ timeout: 30_000 });
    assert.doesNotMatch(page.url(), /owner=/, 'the spent code leaves the address bar');

    const first = await agent.call('bash.execute', { command: 'echo from-explorer' });
    await agent.item(first, 'progress');
    const row = page.getByTestId('approval');
    await row.waitFor({ timeout: 10_000 });
    assert.match((await row.textContent()) ?? '', /bash\.execute.*by agent.*"command": "echo from-explorer"/s);
    await row.getByTestId('approve').click();
    const ran = await agent.itemsToEnd(first, 10_000);
    assert.ok(
      ran.some((i) => i.type === 'data' && i.content.line === 'from-explorer'),
      JSON.stringify(ran),
    );
    await row.waitFor({ state: 'detached', timeout: 10_000 });

    const second = await agent.call('bash.execute', { command: 'echo denied' });
    await agent.item(second, 'progress');
    await page.getByTestId('approval').getByTestId('deny').click();
    const denied = await agent.itemsToEnd(second, 10_000);
    const error = denied.find((i) => i.type === 'error');
    assert.equal(error.code, 'execute_not_approved');
    assert.equal(error.details.reason, 'denied');
    await page.getByTestId('approvals-recent').filter({ hasText: 'denied' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(pageErrors, []);

    // The code was spent: a second page with it cannot connect.
    const again = await browser.context.newPage();
    await again.goto(`http://127.0.0.1:${server.port}/?owner=${code}`);
    await again.getByTestId('connect-error').waitFor({ timeout: 30_000 });
    assert.equal(await again.getByTestId('approvals').count(), 0);
    await again.close();
  });

  it('the owner session survives a dropped connection and a reload (the tab keeps the next one-time code)', async () => {
    const { code } = auth.owner!.issueCode();
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`http://127.0.0.1:${proxyPort}/?poll=200&owner=${code}`);
      await tab.getByTestId('approvals').waitFor({ timeout: 30_000 });
      // Run in the page (typed here without the DOM's types: these tests do not compile with them).
      type Tab = { sessionStorage: { getItem(key: string): string | null } };
      const kept = () => (globalThis as unknown as Tab).sessionStorage.getItem('plexus-hub.owner-code');
      await tab.waitForFunction(
        () => /^own-/.test((globalThis as unknown as Tab).sessionStorage.getItem('plexus-hub.owner-code') ?? ''),
        null,
        { timeout: 10_000 },
      );
      const before = await tab.evaluate(kept);

      const connections = accepted;
      for (const s of sockets) s.destroy();
      // The page connects again with the kept code (a new proxied connection), spends it,
      // and keeps the next one.
      await tab.waitForFunction((b) => (globalThis as unknown as Tab).sessionStorage.getItem('plexus-hub.owner-code') !== b, before, {
        timeout: 15_000,
      });
      assert.ok(accepted > connections, 'the page connected again');
      const call = await agent.call('bash.execute', { command: 'echo after-drop' });
      await agent.item(call, 'progress');
      const row = tab.getByTestId('approval');
      await row.waitFor({ timeout: 15_000 });
      await row.getByTestId('approve').click();
      const ran = await agent.itemsToEnd(call, 10_000);
      assert.ok(
        ran.some((i) => i.type === 'data' && i.content.line === 'after-drop'),
        JSON.stringify(ran),
      );

      // A reload (no code in the address) resumes the owner session from the tab's kept code.
      await tab.reload();
      await tab.getByTestId('approvals').waitFor({ timeout: 30_000 });
      assert.doesNotMatch(tab.url(), /owner=/);
    } finally {
      await tab.close();
    }
  });

  it('a page opened with a token (not the owner) shows no approvals panel', async () => {
    const other = await browser.context.newPage();
    await other.goto(`http://127.0.0.1:${server.port}/?token=${token}`);
    await other.locator('.top').waitFor({ timeout: 30_000 });
    assert.equal(await other.getByTestId('approvals').count(), 0);
    await other.close();
  });
});
