// The schema explorer in a real browser: Debian's Chromium driven by playwright-core
// (which downloads nothing). Skips, saying why, where no Chromium is installed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumMissing, launchChromium, type LaunchedChromium } from '../support/chromium.js';
import { DynamicHub, type PluginSchema } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { explorerHandler } from '../../src/http/explorer.js';
import { builtinActivations } from '../../activations/index.js';
import { Latecomer, Ticker } from '../fixtures/ticker.js';
import { eventually } from '../support/helpers.js';
import { REPO_ROOT as root } from '../support/repo.js';

// Functions passed to page.evaluate run in the page; this Node program has no DOM types.
interface PageElement {
  readonly scrollHeight: number;
  readonly textContent: string | null;
  getBoundingClientRect(): { height: number };
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageElement> };
declare const navigator: { clipboard: { readText(): Promise<string> } };

/** Screenshots of the main views, kept as test artifacts (gitignored). */
const SHOTS = join(root, 'test', '.tmp', 'explorer');
const missing = chromiumMissing;
if (missing) console.log(`# explorer browser tests skipped: ${missing}`);

describe('schema explorer in Chromium', { skip: missing }, () => {
  const hub = new DynamicHub().register(...builtinActivations(), new Ticker());
  let server: PlexusServer;
  let browser: LaunchedChromium;
  let context: BrowserContext;
  let base: string;
  const pageErrors: string[] = [];

  before(async () => {
    await hub.ready(); // schemas extracted before the first page asks
    server = await serveWebSocket(hub, { port: 0, http: explorerHandler() });
    base = `http://127.0.0.1:${server.port}`;
    browser = await launchChromium();
    context = browser.context;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close({ graceMs: 0 });
  });

  async function open(hash = '', query = ''): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.goto(`${base}/${query}${hash}`);
    await page.waitForSelector('.tree [data-path="plexus"]');
    return page;
  }

  /** Screenshots the whole page: the panes scroll on their own, so the viewport grows to fit them first. */
  async function shot(page: Page, name: string): Promise<void> {
    const size = page.viewportSize()!;
    const height = await page.evaluate(
      () =>
        Math.max(...[...document.querySelectorAll('.detail, .tree-pane')].map((e) => e.scrollHeight)) +
        document.querySelector('.top')!.getBoundingClientRect().height,
    );
    await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.ceil(height)) });
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
    await page.setViewportSize(size);
  }

  it('shows the tree lazily, with description, version and hash; expanding solar.earth fetches just that node', async (t) => {
    const page = await open();
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime);
    await page.waitForFunction(() => performance.getEntriesByName('explorer:tree').length > 0);
    const tree = await page.evaluate(() => performance.getEntriesByName('explorer:tree')[0]!.startTime);
    t.diagnostic(`first contentful paint ${Math.round(fcp ?? -1)} ms, tree on screen ${Math.round(tree)} ms`);

    const solarRow = page.locator('[data-path="solar"] > .row');
    const solar = (await hub.schema('solar')) as PluginSchema;
    assert.match((await solarRow.textContent())!, new RegExp(`solar.*${solar.hash.slice(0, 8)}.*The solar system`));
    assert.equal(await page.locator('[data-path="solar.earth"]').count(), 0, 'children are not fetched before expanding');

    await solarRow.locator('.twisty').click();
    const earthRow = page.locator('[data-path="solar.earth"] > .row');
    await earthRow.waitFor();
    assert.equal(await page.locator('[data-path="solar.earth.luna"]').count(), 0);
    await earthRow.locator('.twisty').click();
    await page.locator('[data-method="solar.earth.info"]').waitFor();
    await page.locator('[data-path="solar.earth.luna"]').waitFor();
    const earth = (await hub.schema('solar.earth')) as PluginSchema;
    assert.match((await earthRow.textContent())!, new RegExp(`earth\\s*v1\\.0\\.0\\s*${earth.hash.slice(0, 8)}\\s*Earth, planet`));

    await earthRow.locator('.name').click();
    const view = page.getByTestId('node-view');
    await view.waitFor();
    assert.match((await view.textContent())!, new RegExp(`solar\\.earth.*Earth, planet.*version1\\.0\\.0.*hash${earth.hash}`));
    await shot(page, 'tree');
    await page.close();
  });

  it('calls echo.echo through the form and shows each streamed item; the copied CLI command does the same', async () => {
    const page = await open('#/m/echo.echo');
    await page.getByTestId('method-view').waitFor();
    // The params schema, rendered: the required mark and the default.
    const params = page.getByTestId('schema-params');
    assert.match((await params.textContent())!, /message\*string.*count.*number.*\(default 1\)/);
    assert.equal(await page.locator('[data-field="count"]').inputValue(), '1', 'the default is pre-filled');

    await page.fill('[data-field="message"]', 'hello there');
    await page.fill('[data-field="count"]', '7');
    await page.getByTestId('call').click();
    await page.locator('[data-testid="results"][data-status="done"]').waitFor();
    assert.equal(await page.getByTestId('count').textContent(), '7 items');
    const rows = page.locator('[data-testid="table-view"] tbody tr');
    assert.equal(await rows.count(), 7);
    assert.deepEqual(await rows.nth(6).locator('td').allTextContents(), ['7', 'hello there', '7']);
    await shot(page, 'call');

    await page.getByRole('button', { name: 'JSON', exact: true }).last().click();
    const json = await page.getByTestId('json-view').textContent();
    assert.deepEqual(JSON.parse(`[${json!.replace(/}\n{/g, '},{')}]`).at(-1), { message: 'hello there', seq: 7 });

    const command = (await page.getByTestId('cli-snippet').textContent())!;
    assert.equal(command, `npx hub call echo.echo --message 'hello there' --count 7 --url ws://127.0.0.1:${server.port}`);
    await page.getByRole('button', { name: 'Copy command' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);
    // Run what was copied (with the local bin for `npx hub`): same items.
    const argv = command.replace("'hello there'", 'hello_there').split(' ').slice(2);
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'bin', 'hub.js'), ...argv], { cwd: root });
    assert.equal(stdout.match(/"seq"/g)?.length, 7);

    const ts = (await page.getByTestId('ts-snippet').textContent())!;
    assert.match(ts, /for await \(const item of hub\.echo\.echo\(\{ message: "hello there", count: 7 \}\)\) console\.log\(item\);/);
    await page.close();
  });

  it('cancel unsubscribes an endless stream: the server-side producer stops', async () => {
    const page = await open('#/m/ticker.forever');
    await page.fill('[data-field="ms"]', '10');
    const finishedBefore = Ticker.finished;
    await page.getByTestId('call').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="count"]')?.textContent?.split(' ')[0]) >= 5);
    assert.equal(Ticker.running, 1, 'the producer runs while the page streams');
    await shot(page, 'streaming');
    await page.getByTestId('cancel').click();
    await page.locator('[data-testid="results"][data-status="cancelled"]').waitFor();
    await eventually(() => Ticker.running === 0 && Ticker.finished === finishedBefore + 1);
    const after = await page.getByTestId('count').textContent();
    await new Promise((r) => setTimeout(r, 100)); // a while in which no item may arrive
    assert.equal(await page.getByTestId('count').textContent(), after, 'no items after cancelling');
    await page.close();
  });

  it('shows progress items as a progress bar', async () => {
    const page = await open('#/m/ticker.count');
    await page.fill('[data-field="to"]', '20');
    await page.getByTestId('call').click();
    await page.locator('[data-testid="results"][data-status="done"]').waitFor();
    assert.equal(await page.locator('[data-testid="progress"] progress').getAttribute('value'), '100');
    assert.match((await page.getByTestId('progress').textContent())!, /20 of 20 \(100%\)/);
    assert.equal(await page.getByTestId('count').textContent(), '20 items');
    await page.close();
  });

  it('invalid params: the server says what is wrong; bad JSON is caught before sending', async () => {
    const page = await open('#/m/echo.echo');
    await page.getByTestId('json-mode').click();
    await page.getByTestId('params-json').fill('{"message": "hi", "count": "three"}');
    await page.getByTestId('call').click();
    await page.locator('[data-testid="results"][data-status="error"]').waitFor();
    assert.equal(await page.getByTestId('error').textContent(), "error -32602: Invalid params: param 'count' must be number");
    await shot(page, 'error');

    await page.getByTestId('params-json').fill('{"message": ');
    await page.getByTestId('call').click();
    assert.match((await page.getByTestId('form-problem').textContent())!, /^Params are not valid JSON/);
    await page.close();
  });

  it('generates the form from the params schema: strings, numbers, enums, booleans, arrays, nested objects, JSON for unions', async () => {
    const page = await open('#/m/ticker.shapes');
    await page.getByTestId('call-form').waitFor();
    const label = (name: string) => page.locator(`label[for="f-${name}"]`).textContent();
    assert.equal(await label('name'), 'name*');
    assert.equal(await label('count'), 'count');
    assert.equal(await page.locator('select[data-field="mode"] option:checked').textContent(), 'slow', 'enum default selected');
    assert.equal(await page.locator('[data-field="count"]').inputValue(), '3');
    assert.equal(await page.locator('input[type="checkbox"][data-field="loud"]').isChecked(), false);
    assert.equal(await page.locator('textarea[data-field="shape"]').count(), 1, 'a union is edited as JSON');

    await page.fill('[data-field="name"]', 'Ada');
    await page.fill('[data-field="point.x"]', '1.5');
    await page.fill('[data-field="point.y"]', '-2');
    await page.selectOption('select[data-field="mode"]', { label: 'fast' });
    await page.check('[data-field="loud"]');
    await page.locator('[data-field="tags"]').getByRole('button', { name: '+ add' }).click();
    await page.locator('[data-field="tags"]').getByRole('button', { name: '+ add' }).click();
    await page.fill('[data-field="tags[0]"]', 'a');
    await page.fill('[data-field="tags[1]"]', 'b');
    await page.fill('[data-field="shape"]', '{"kind": "circle"');
    await page.getByTestId('call').click();
    assert.match((await page.getByTestId('form-problem').textContent())!, /Fix the JSON of: shape/);
    await page.fill('[data-field="shape"]', '{"kind": "circle", "radius": 2}');
    await shot(page, 'form');
    await page.getByTestId('call').click();
    await page.locator('[data-testid="results"][data-status="done"]').waitFor();
    await page.getByRole('button', { name: 'JSON', exact: true }).last().click();
    assert.deepEqual(JSON.parse((await page.getByTestId('json-view').textContent())!), {
      name: 'Ada',
      count: 3,
      mode: 'fast',
      loud: true,
      tags: ['a', 'b'],
      point: { x: 1.5, y: -2 },
      shape: { kind: 'circle', radius: 2 },
    });
    assert.match((await page.getByTestId('cli-snippet').textContent())!, /^npx hub call ticker\.shapes --json '\{"name":"Ada",/);
    await page.close();
  });

  it('search finds nodes nobody expanded (loading the rest of the tree in the background)', async () => {
    const page = await open();
    await page.getByRole('searchbox').fill('luna');
    await page.locator('[data-path="solar.earth.luna"]').waitFor();
    assert.equal(await page.locator('[data-path="solar.mars"]').count(), 0, 'non-matching nodes are hidden');
    await page.getByRole('searchbox').fill('deimos.info');
    await page.locator('[data-method="solar.mars.deimos.info"]').waitFor();
    await page.close();
  });

  it('a drift badge appears when the root hash changes, and the changed nodes are fetched again', async () => {
    const page = await open('#/n/plexus', '?poll=100');
    const before = await page.getByTestId('root-hash').textContent();
    assert.equal(before, hub.hash());
    hub.register(new Latecomer());
    try {
      await hub.ready();
      const badge = page.getByTestId('drift');
      await badge.waitFor();
      assert.match(
        (await badge.textContent())!,
        new RegExp(`schema changed: 1 node updated · ${before!.slice(0, 8)} → ${hub.hash().slice(0, 8)}`),
      );
      await page.locator('[data-path="latecomer"] > .row.changed').waitFor();
      assert.equal(await page.getByTestId('root-hash').textContent(), hub.hash());
      await shot(page, 'drift');
      await badge.click();
      assert.equal(await page.getByTestId('drift').count(), 0);
    } finally {
      hub.unregister('latecomer');
    }
    await page.close();
  });

  it('learns the root name from _info: a hub rooted at "substrate" works the same', async () => {
    const other = await serveWebSocket(new DynamicHub('substrate').register(...builtinActivations()), { port: 0, http: explorerHandler() });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await page.goto(`http://127.0.0.1:${other.port}/#/m/substrate.hash`);
      await page.locator('.tree [data-path="substrate"]').waitFor();
      await page.getByTestId('call').click();
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
      assert.match((await page.getByTestId('table-view').textContent())!, /hash[0-9a-f]{16}/);
      assert.match((await page.getByTestId('cli-snippet').textContent())!, /^npx hub call substrate\.hash --url /);
    } finally {
      await page.close();
      await other.close({ graceMs: 0 });
    }
  });

  it('says when the hub is unreachable, reconnects when it is back, and notices it came back changed', async () => {
    const first = await serveWebSocket(new DynamicHub().register(...builtinActivations()), { port: 0, http: explorerHandler() });
    const port = first.port;
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    let second: PlexusServer | undefined;
    try {
      await page.goto(`http://127.0.0.1:${port}/?poll=100`);
      await page.locator('.tree [data-path="plexus"]').waitFor();
      await first.close({ graceMs: 0 });
      await page.getByTestId('offline').waitFor();
      const changed = new DynamicHub().register(...builtinActivations(), new Latecomer());
      await changed.ready();
      second = await serveWebSocket(changed, { port, http: explorerHandler() });
      await page.getByTestId('drift').waitFor();
      await page.getByTestId('offline').waitFor({ state: 'detached' });
      await page.locator('[data-path="latecomer"]').waitFor();
    } finally {
      await page.close();
      await second?.close({ graceMs: 0 });
    }
  });

  it('overview (the README screenshot): a streamed call next to the expanded tree', async () => {
    hub.unregister('ticker'); // the built-ins only, as `npm start` serves them
    try {
      const page = await open('#/m/solar.observe');
      for (const path of ['solar', 'solar.earth']) {
        const item = page.locator(`[data-path="${path}"]`);
        await item.waitFor();
        const twisty = item.locator('> .row .twisty');
        if ((await twisty.getAttribute('aria-expanded')) !== 'true') await twisty.click();
        await item.locator('ul').first().waitFor();
      }
      await page.selectOption('select[data-field="body_type"]', { label: 'planet' });
      await page.getByTestId('call').click();
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
      assert.equal(await page.getByTestId('count').textContent(), '8 items');
      await page.setViewportSize({ width: 1280, height: 1080 });
      await page.screenshot({ path: join(SHOTS, 'overview.png') });
      await page.close();
    } finally {
      hub.register(new Ticker());
      await hub.ready();
    }
  });

  it('raised no page errors (CSP, scripts, WebSocket)', () => {
    assert.deepEqual(pageErrors, []);
  });
});
