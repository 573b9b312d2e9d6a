import type { Page } from 'playwright-core';

/** Debian's chromium, or CHROMIUM_PATH; suites that need it are skipped when it is absent. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Runs `action` and waits for the officer's dashboard to draw an answer newer than the one it showed before. */
export async function redrawn(page: Page, action: () => Promise<unknown>): Promise<void> {
  const before = Number(await page.evaluate(() => document.body.dataset.loaded));
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.loaded ?? 0) > n, before);
}
