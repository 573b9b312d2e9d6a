import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Page } from 'playwright-core';
import type { TestBroker } from './broker.ts';

/** Debian's chromium, or CHROMIUM_PATH; suites that need it are skipped when it is absent. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Runs `action` and waits for the officer's dashboard to draw an answer newer than the one it showed before. */
export async function redrawn(page: Page, action: () => Promise<unknown>): Promise<void> {
  const before = Number(await page.evaluate(() => document.body.dataset.loaded));
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.loaded ?? 0) > n, before);
}

/** The officers' dashboard in headless Chromium, signed in as the dpo, on a server of its own. */
export interface SignedInDashboard {
  page: Page;
  /** The server's origin: requests anywhere else are aborted. */
  base: string;
  close(): Promise<void>;
}

/**
 * Serves `kh` over HTTP, opens the dashboard and signs in as the dpo. Page errors and console errors go to
 * `problems`, which a suite expects empty at its end.
 */
export async function openSignedInDashboard(
  kh: TestBroker,
  options: { problems: string[]; viewport?: { width: number; height: number }; acceptDownloads?: boolean },
): Promise<SignedInDashboard> {
  const server = createServer(kh.broker.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1366, height: 900 }, acceptDownloads: options.acceptDownloads ?? false });
  page.on('pageerror', (error) => options.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') options.problems.push(`console: ${message.text()}`);
  });
  await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
  await page.goto(`${base}/officer`);
  await page.getByLabel('Officer token').fill(await kh.token('dpo'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) > 0);
  return {
    page,
    base,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
