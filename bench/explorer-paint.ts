// First paint of the schema explorer, in Debian's Chromium against a `hub serve`
// already running on `port`. Each load is a new browser context (empty cache), as a
// first visit is. Side by side, the baseline: the same browser loading a trivial
// text page from the same server (the floor of any navigation).
import { chromiumMissing, launchChromiumBrowser } from '../test/support/chromium.js';

export interface PaintResult {
  /** First contentful paint of the page (its HTML), median, ms from navigation start. */
  readonly fcp_ms: number;
  /** The tree of the live hub on screen (connected, root schema read, rendered), median. */
  readonly tree_ms: number;
  /** First contentful paint of a plain-text page from the same server, median. */
  readonly baseline_fcp_ms: number;
  readonly samples: { readonly fcp: number[]; readonly tree: number[]; readonly baseline: number[] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function explorerPaint(port: number, runs: number, log: (line: string) => void): Promise<PaintResult | undefined> {
  if (chromiumMissing) {
    log(`  explorer first paint skipped: ${chromiumMissing}`);
    return undefined;
  }
  const browser = await launchChromiumBrowser();
  const fcp: number[] = [];
  const tree: number[] = [];
  const baseline: number[] = [];
  const paintOf = `new Promise((resolve) => new PerformanceObserver((list, obs) => { const e = list.getEntriesByName('first-contentful-paint')[0]; if (e) { obs.disconnect(); resolve(e.startTime); } }).observe({ type: 'paint', buffered: true }))`;
  try {
    for (let i = 0; i <= runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => performance.getEntriesByName('explorer:tree').length > 0);
      const f = (await page.evaluate(paintOf)) as number;
      const t = (await page.evaluate(() => performance.getEntriesByName('explorer:tree')[0]!.startTime)) as number;
      await page.goto(`http://127.0.0.1:${port}/plain-text-baseline`);
      const b = (await page.evaluate(paintOf)) as number;
      await context.close();
      if (i === 0) continue; // warm-up: the browser's own first start
      fcp.push(f);
      tree.push(t);
      baseline.push(b);
    }
  } finally {
    await browser.close();
  }
  log(
    `  explorer: first paint ${fcp.map(Math.round).join('/')} ms, tree ${tree.map(Math.round).join('/')} ms, baseline ${baseline.map(Math.round).join('/')} ms`,
  );
  return { fcp_ms: median(fcp), tree_ms: median(tree), baseline_fcp_ms: median(baseline), samples: { fcp, tree, baseline } };
}
