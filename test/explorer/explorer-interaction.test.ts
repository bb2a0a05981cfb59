// The explorer's interactive parts in Debian's Chromium (playwright-core): questions a
// method asks mid-stream, markdown in descriptions (and that it stays inert), the
// result rows following the tail, the one Cancel button and one number format, the
// narrow-screen tree toggle, the offline notice that moves nothing, the call history.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumMissing, launchChromium, type LaunchedChromium } from '../support/chromium.js';
import { DynamicHub } from '../../src/index.js';
import { serveWebSocket, type PlexusServer } from '../../src/transport/websocket-server.js';
import { explorerHandler } from '../../src/http/explorer.js';
import { builtinActivations } from '../../activations/index.js';
import { Ticker } from '../fixtures/ticker.js';
import { asker } from './asker.js';
import { REPO_ROOT } from '../support/repo.js';

/** Screenshots, kept as test artifacts (gitignored); docs/explorer-question.png is this one. */
const SHOTS = join(REPO_ROOT, 'test', '.tmp', 'explorer');

// Functions passed to page.evaluate run in the page; this Node program has no DOM types.
interface PageElement {
  scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
  readonly textContent: string | null;
  getBoundingClientRect(): { x: number; y: number; width: number; height: number };
}
declare const document: { querySelector(selector: string): PageElement | null; activeElement: PageElement | null };
declare const window: { __xss?: unknown };
declare const localStorage: { clear(): void; getItem(key: string): string | null };

const missing = chromiumMissing;

describe('explorer interactions in Chromium', { skip: missing }, () => {
  const hub = new DynamicHub().register(...builtinActivations(), new Ticker(), asker());
  let server: PlexusServer;
  let browser: LaunchedChromium;
  let context: BrowserContext;
  let base: string;
  const pageErrors: string[] = [];

  before(async () => {
    await hub.ready();
    server = await serveWebSocket(hub, { port: 0, http: explorerHandler() });
    base = `http://127.0.0.1:${server.port}`;
    browser = await launchChromium();
    context = browser.context;
  });

  after(async () => {
    await browser?.close();
    await server?.close({ graceMs: 0 });
  });

  /** A page on the hub at `at`; `quiet` leaves out console errors (a page whose hub goes away logs its failed sends). */
  async function open(hash = '', query = '', at = base, quiet = false): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    if (!quiet) page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.goto(`${at}/${query}${hash}`);
    await page.waitForSelector('.tree [data-path="plexus"]');
    return page;
  }

  /** The data items the results view shows, from its JSON view. */
  async function items(page: Page): Promise<unknown[]> {
    await page.getByRole('button', { name: 'JSON', exact: true }).last().click();
    const text = (await page.getByTestId('json-view').textContent())!;
    return JSON.parse(`[${text.replace(/}\n{/g, '},{')}]`) as unknown[];
  }

  async function callAndWaitForQuestion(page: Page, params?: string): Promise<void> {
    if (params) {
      await page.getByTestId('json-mode').click();
      await page.getByTestId('params-json').fill(params);
    }
    await page.getByTestId('call').click();
    await page.getByTestId('question').waitFor();
  }

  describe('questions a method asks', () => {
    it('a confirm is Yes/No with the timeout counting down; Yes sends true; there is one Cancel button', async () => {
      const page = await open('#/m/asker.confirm');
      assert.equal(await page.locator('h1 .tag.asks').count(), 1, 'the method is marked as one that asks');
      await callAndWaitForQuestion(page);
      assert.equal(await page.getByTestId('question-prompt').textContent(), 'Delete 3 files?');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Yes', 'the keyboard is on the first answer');
      const countdown = page.getByTestId('question-countdown');
      assert.match((await countdown.textContent())!, /^(30|29) s left$/);
      await page.waitForFunction(() => /^(28|27) s left$/.test(document.querySelector('[data-testid="question-countdown"]')!.textContent!));
      assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 1, 'one Cancel button while it runs');
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'question.png') });
      await page.getByTestId('answer-yes').click();
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
      assert.equal(await page.getByTestId('question').count(), 0, 'the form closes once answered');
      assert.equal(await page.getByTestId('question-note').getAttribute('data-outcome'), 'answered');
      assert.deepEqual(await items(page), [{ step: 'before' }, { step: 'answered', answer: true }]);
      assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'no Cancel once it ended');
      await page.close();
    });

    it('an enum is a select; the chosen option is the answer', async () => {
      const page = await open('#/m/asker.pick');
      await callAndWaitForQuestion(page);
      const select = page.locator('[data-testid="question"] select[data-field="@answer"]');
      assert.equal(await select.evaluate((e) => e === (e.ownerDocument.activeElement as unknown)), true, 'focused');
      assert.deepEqual(await select.locator('option').allTextContents(), ['red', 'green', 'blue']);
      await select.selectOption({ label: 'green' });
      await page.getByTestId('answer').click();
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
      assert.deepEqual((await items(page)).at(-1), { step: 'answered', answer: 'green' });
      await page.close();
    });

    it('any JSON is a JSON editor: Answer waits for valid JSON, then sends the value', async () => {
      const page = await open('#/m/asker.anything');
      await callAndWaitForQuestion(page);
      const editor = page.locator('[data-testid="question"] textarea[data-field="@answer"]');
      const answer = page.getByTestId('answer');
      assert.equal(await answer.isDisabled(), true, 'nothing to send yet');
      await editor.fill('{"keep": [1, 2');
      assert.equal(await answer.isDisabled(), true, 'not JSON yet');
      await editor.fill('{"keep": [1, 2], "why": null}');
      await answer.click();
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
      assert.deepEqual((await items(page)).at(-1), { step: 'answered', answer: { keep: [1, 2], why: null } });
      await page.close();
    });

    it('text answers, and two questions in a row each get their own form', async () => {
      const page = await open('#/m/asker.name');
      await callAndWaitForQuestion(page);
      await page.locator('[data-testid="question"] input[data-field="@answer"]').fill('Ada');
      await page.locator('[data-testid="question"] input[data-field="@answer"]').press('Enter');
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
      assert.deepEqual((await items(page)).at(-1), { step: 'answered', answer: 'Ada' });

      await page.goto(`${base}/#/m/asker.twice`);
      await callAndWaitForQuestion(page);
      assert.equal(await page.getByTestId('question-prompt').textContent(), 'First?');
      await page.getByTestId('answer-no').click();
      await page.locator('[data-testid="question-prompt"]', { hasText: 'Second?' }).waitFor();
      await page.locator('[data-testid="question"] select').selectOption({ label: 'b' });
      await page.getByTestId('answer').click();
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
      assert.deepEqual(await items(page), [{ first: false, second: 'b' }]);
      await page.close();
    });

    it('Decline tells the method the question was declined', async () => {
      const page = await open('#/m/asker.confirm');
      await callAndWaitForQuestion(page);
      await page.getByTestId('decline').click();
      await page.locator('[data-testid="results"][data-status="error"]').waitFor();
      assert.match((await page.getByTestId('error').textContent())!, /Request declined by the caller/);
      assert.equal(await page.getByTestId('question-note').getAttribute('data-outcome'), 'declined');
      await page.close();
    });

    it('a question that times out closes its form and says so; the method reports the timeout', async () => {
      const page = await open('#/m/asker.confirm');
      await callAndWaitForQuestion(page, '{"timeout_ms": 3000}');
      assert.match((await page.getByTestId('question-countdown').textContent())!, /^[123] s left$/);
      await page.getByTestId('question').waitFor({ state: 'detached', timeout: 10_000 });
      const note = page.getByTestId('question-note');
      assert.equal(await note.getAttribute('data-outcome'), 'expired');
      assert.equal(await note.textContent(), 'The question “Delete 3 files?” timed out after 3 s without an answer.');
      await page.locator('[data-testid="results"][data-status="error"]').waitFor();
      assert.match((await page.getByTestId('error').textContent())!, /Request timed out waiting for response \(after 3000ms\)/);
      await page.close();
    });

    it('cancelling the call while it asks withdraws the question', async () => {
      const page = await open('#/m/asker.pick');
      await callAndWaitForQuestion(page);
      await page.getByTestId('cancel').click();
      await page.locator('[data-testid="results"][data-status="cancelled"]').waitFor();
      assert.equal(await page.getByTestId('question').count(), 0);
      assert.equal(await page.getByTestId('question-note').getAttribute('data-outcome'), 'cancelled');
      await page.close();
    });
  });

  it('descriptions render their markdown; markup and script links in them stay inert text', async () => {
    const page = await open('#/m/asker.notes');
    const description = page.getByTestId('description');
    await description.waitFor();
    assert.equal(await description.locator('strong').textContent(), 'markdown');
    assert.equal(await description.locator('code').textContent(), 'inline code');
    assert.equal(await description.locator('em').textContent(), 'emphasis');
    const links = description.locator('a');
    assert.deepEqual(
      await links.evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.getAttribute('rel'), a.getAttribute('target')])),
      [
        ['https://example.com/docs?a=1&b=2', 'noopener noreferrer', '_blank'],
        ['https://example.org/auto', 'noopener noreferrer', '_blank'],
      ],
    );
    assert.equal(await description.locator('img, script, iframe, object').count(), 0, 'no element from the description’s markup');
    const text = (await description.textContent())!;
    assert.match(text, /<img src=x onerror="window.__xss=1"> <script>window.__xss=2<\/script> \[click\]\(javascript:window.__xss=3\)/);
    // Its node view: inline markdown in the cards, which are links themselves (no links inside).
    await page.goto(`${base}/#/n/asker`);
    await page.getByTestId('node-view').waitFor();
    assert.equal(await page.locator('[data-testid="description"] code').textContent(), 'trash.empty');
    assert.equal(await page.locator('.cards a a').count(), 0, 'no link inside a link');
    await page.waitForTimeout(100);
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
    await page.close();
  });

  it('streamed rows follow the tail; scrolled up they hold still until "follow"; numbers read one way', async () => {
    const page = await open('#/m/ticker.forever');
    await page.fill('[data-field="ms"]', '1');
    await page.getByTestId('call').click();
    const count = () =>
      page.evaluate(() => Number(document.querySelector('[data-testid="count"]')!.textContent!.split(' ')[0]!.replace(/,/g, '')));
    const atTail = () =>
      page.evaluate(() => {
        const el = document.querySelector('[data-testid="rows"]')!;
        return el.scrollHeight - el.scrollTop - el.clientHeight <= 8;
      });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="count"]')?.textContent?.split(' ')[0]) >= 100);
    await page.waitForTimeout(50);
    assert.equal(await atTail(), true, 'following the tail');

    await page.evaluate(() => {
      document.querySelector('[data-testid="rows"]')!.scrollTop = 0;
    });
    await page.getByTestId('follow').waitFor();
    const firstRow = await page.locator('[data-testid="table-view"] tbody tr').first().textContent();
    const held = await count();
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="count"]')!.textContent!.split(' ')[0]!.replace(/,/g, '')) >= n + 1200,
      held,
    );
    assert.equal(await page.evaluate(() => document.querySelector('[data-testid="rows"]')!.scrollTop), 0, 'still where the user put it');
    assert.equal(await page.locator('[data-testid="table-view"] tbody tr').first().textContent(), firstRow, 'the rows hold still');
    assert.match((await page.getByTestId('follow').textContent())!, /^\d{1,3}(,\d{3})* newer items: follow ↓$/);

    // One number format: grouped thousands in the count, the row numbers, the window and the time.
    assert.match((await page.getByTestId('count').textContent())!, /^\d{1,3}(,\d{3})+ items$/);
    assert.match((await page.getByTestId('elapsed').textContent())!, /^\d{1,3}(,\d{3})* ms$/);
    await page.getByTestId('follow').click();
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="rows"]')!;
      return el.scrollTop > 0 && el.scrollHeight - el.scrollTop - el.clientHeight <= 8;
    });
    assert.match(
      (await page.getByTestId('window').textContent())!,
      /^showing items \d{1,3}(,\d{3})* to \d{1,3}(,\d{3})+ of \d{1,3}(,\d{3})+$/,
    );
    const [rowNumber, n] = await page.locator('[data-testid="table-view"] tbody tr').last().locator('td').allTextContents();
    assert.match(rowNumber!, /^\d{1,3}(,\d{3})+$/);
    assert.equal(n, rowNumber, 'a number in the data reads like the row number');
    await page.getByTestId('cancel').click();
    await page.locator('[data-testid="results"][data-status="cancelled"]').waitFor();
    await page.close();
  });

  it('below 800 px the tree collapses behind a toggle; choosing a node closes it', async () => {
    const page = await open('#/m/echo.echo');
    assert.equal(await page.getByTestId('tree-toggle').isVisible(), false, 'no toggle on a wide screen');
    assert.equal(await page.locator('.tree-pane').isVisible(), true);
    await page.setViewportSize({ width: 700, height: 800 });
    await page.locator('.tree-pane').waitFor({ state: 'hidden' });
    const toggle = page.getByTestId('tree-toggle');
    assert.equal(await toggle.isVisible(), true);
    const detail = (await page.locator('.detail').boundingBox())!;
    assert.ok(detail.x < 5 && detail.width > 650, `the detail takes the width: ${JSON.stringify(detail)}`);
    await toggle.click();
    await page.locator('.tree-pane').waitFor({ state: 'visible' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await page.locator('.tree [data-path="solar"] > .row .name').click();
    await page.getByTestId('node-view').waitFor();
    await page.locator('.tree-pane').waitFor({ state: 'hidden' });
    assert.match((await page.locator('h1').textContent())!, /^solar$/);
    await page.close();
  });

  it('the offline notice covers the page without moving anything in it', async () => {
    const other = await serveWebSocket(new DynamicHub().register(...builtinActivations()), { port: 0, http: explorerHandler() });
    const page = await open('#/m/echo.echo', '?poll=100', `http://127.0.0.1:${other.port}`, true);
    try {
      const boxes = () =>
        page.evaluate(() =>
          ['.top', '.brand', '[data-testid="root-hash"]', '.tree-pane', '.detail', '[data-testid="call"]'].map((s) =>
            JSON.stringify(document.querySelector(s)!.getBoundingClientRect()),
          ),
        );
      const before = await boxes();
      await other.close({ graceMs: 0 });
      await page.getByTestId('offline').waitFor();
      assert.deepEqual(await boxes(), before);
      const banner = (await page.getByTestId('offline').boundingBox())!;
      assert.ok(banner.width > 0 && banner.height > 0);
    } finally {
      await page.close();
    }
  });

  it('keeps the last calls in the browser; one click re-runs one, here or from the home view', async () => {
    const page = await open('#/m/echo.echo');
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.getByTestId('method-view').waitFor();
    assert.equal(await page.getByTestId('history').count(), 0, 'no history yet');
    for (const message of ['one', 'two']) {
      await page.fill('[data-field="message"]', message);
      await page.getByTestId('call').click();
      await page.locator('[data-testid="results"][data-status="done"]').waitFor();
    }
    await page.reload();
    await page.getByTestId('history').waitFor();
    const entries = page.getByTestId('history-entry');
    assert.deepEqual(
      (await entries.locator('code').allTextContents()).map((t) => JSON.parse(t)),
      [
        { message: 'two', count: 1 },
        { message: 'one', count: 1 },
      ],
    );
    assert.match((await entries.first().textContent())!, /done/);
    await entries.nth(1).getByTestId('rerun').click();
    await page.locator('[data-testid="results"][data-status="done"]').waitFor();
    assert.deepEqual(await items(page), [{ message: 'one', seq: 1 }]);
    assert.equal(await page.locator('[data-field="message"]').inputValue(), 'one', 'the form shows the re-run params');
    assert.deepEqual(
      (await entries.locator('code').allTextContents()).map((t) => JSON.parse(t).message),
      ['one', 'two'],
      'a re-run moves to the top, once',
    );

    await page.goto(`${base}/#/`);
    const home = page.locator('[data-testid="history-entry"][data-path="echo.echo"]');
    await home.first().waitFor();
    await home.nth(1).getByTestId('rerun').click();
    await page.getByTestId('method-view').waitFor();
    await page.locator('[data-testid="results"][data-status="done"]').waitFor();
    assert.equal(new URL(page.url()).hash, '#/m/echo.echo');
    assert.deepEqual(await items(page), [{ message: 'two', seq: 1 }]);
    const stored = JSON.parse((await page.evaluate(() => localStorage.getItem('plexus-explorer.history')))!) as { path: string }[];
    assert.equal(stored.length, 2);
    await page.close();
  });

  it('raised no page errors (CSP, scripts, WebSocket)', () => {
    assert.deepEqual(pageErrors, []);
  });
});
