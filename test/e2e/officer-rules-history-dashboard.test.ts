import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRulesVersions } from '../../src/audit/rules-versions.ts';
import { CHROMIUM, openSignedInDashboard, redrawn, type SignedInDashboard } from '../support/browser.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { projectWith } from '../support/project.ts';

const SCREENSHOT = join(PROJECT_ROOT, 'docs', 'images', 'officer-rules-history.png');

/** Whether the page is wider than the window: the officer would have to scroll sideways. */
const overflow = (page: Page) => page.evaluate(() => document.scrollingElement!.scrollWidth - window.innerWidth);

describe.skipIf(!existsSync(CHROMIUM))('the rules history on the dashboard in headless Chromium', () => {
  let t: TestDatabase;
  let root: string;
  let kh: TestBroker;
  let dashboard: SignedInDashboard;
  let page: Page;
  const problems: string[] = [];
  const panel = () => page.locator('#rules-history');

  /** Reloads the page (the token stays in the tab) and waits for its first answer. */
  async function reload(): Promise<void> {
    await page.reload();
    await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) > 0);
  }

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    root = await projectWith();
    kh = await startTestBroker(t.db, { root });
    dashboard = await openSignedInDashboard(kh, { problems, acceptDownloads: true });
    page = dashboard.page;
  });

  afterAll(async () => {
    await dashboard?.close();
    await kh?.close();
    await t?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("shows a steward's live edit as the version in force, with the edited line in its diff", async () => {
    const [startedOn] = await listRulesVersions(t.db);
    expect(await panel().locator('tbody tr').count()).toBe(1);
    const file = join(root, 'masking-rules', 'customers.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('params: { keepLast: 4 }', 'params: { keepLast: 3 }'));
    await expect.poll(async () => (await listRulesVersions(t.db)).length, { timeout: 10_000 }).toBe(2);
    const [edited] = await listRulesVersions(t.db);

    await reload();
    const rows = panel().locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().getAttribute('data-rules-version')).toBe(String(edited!.id));
    expect(await rows.first().locator('td').first().textContent()).toBe('in force');
    expect(await rows.nth(1).locator('td').first().textContent()).toBe('replaced');
    expect(await rows.nth(1).locator('td.wrap').textContent()).toMatch(/^first version stored: \d+ files$/);
    expect(await rows.first().textContent()).toContain(`${edited!.hash.slice(0, 12)}`);
    expect(await rows.first().textContent()).toContain('changed masking-rules/customers.yaml (+1 −1)');

    const diff = page.locator('#rules-diff');
    expect(await diff.locator('.rules-diff-title').textContent()).toBe(`Version #${edited!.id} (in force), against version #${startedOn!.id}.`);
    expect(await diff.locator('h3').allTextContents()).toEqual(['masking-rules/customers.yaml (changed)']);
    const lines = await diff.getByRole('list', { name: 'Changed lines of masking-rules/customers.yaml' }).locator('li').allTextContents();
    expect(lines).toEqual([
      expect.stringMatching(/^−removed line 30\s*params: \{ keepLast: 4 \}$/),
      expect.stringMatching(/^\+added line 30\s*params: \{ keepLast: 3 \}$/),
    ]);
    await panel().screenshot({ path: SCREENSHOT });
  });

  it('keeps the selected version in the URL, and exports the history as CSV', async () => {
    const [edited, startedOn] = await listRulesVersions(t.db);
    await redrawn(page, () => page.getByRole('button', { name: `Show the changes of rules version ${startedOn!.id}` }).click());
    expect(new URL(page.url()).searchParams.get('rules')).toBe(String(startedOn!.id));
    await reload();
    expect(await page.getByLabel('Show changes of').inputValue()).toBe(String(startedOn!.id));
    expect(await page.locator('#rules-diff .rules-diff-title').textContent()).toBe(`Version #${startedOn!.id}, the first version stored: every file is new.`);
    expect(await page.locator('#rules-diff h3').allTextContents()).toContain('masking-rules/customers.yaml (added)');
    expect(await panel().locator('tr.rules-selected').getAttribute('data-rules-version')).toBe(String(startedOn!.id));

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export Rules history as CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^keyhole-rules-versions-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = (await readFile((await download.path())!, 'utf8')).split('\r\n');
    expect(csv[0]).toBe('Version,Status,In force from (UTC),Until (UTC),Content hash,Files changed (lines +/−)');
    expect(csv[1]).toMatch(new RegExp(`^#${edited!.id},in force,[^,]+,now,${edited!.hash.slice(0, 12)},changed masking-rules/customers.yaml \\(\\+1 −1\\)$`));
  });

  it('fits a phone and a laptop without scrolling sideways', async () => {
    for (const width of [390, 1366]) {
      await page.setViewportSize({ width, height: 900 });
      await expect.poll(() => page.evaluate(() => window.innerWidth)).toBe(width);
      await panel().scrollIntoViewIfNeeded();
      await expect.poll(() => overflow(page), { timeout: 3000 }).toBeLessThanOrEqual(0);
    }
  });

  it('says so when no version is stored, rather than showing an empty table', async () => {
    await t.db.query('UPDATE rules_versions SET previous_id = NULL');
    await t.db.query('DELETE FROM rules_versions');
    await reload();
    expect(await panel().locator('tbody tr').allTextContents()).toEqual(['No rules version is stored yet: a broker stores one when it starts.']);
    expect(await page.locator('#rules-diff').textContent()).toBe('');
    expect(problems).toEqual([]);
  });
});
