import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listApprovals } from '../../src/approvals/index.ts';
import { issueToken } from '../../src/identity/index.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { CHROMIUM, openSignedInDashboard, redrawn, type SignedInDashboard } from '../support/browser.ts';

const IMAGES = join(PROJECT_ROOT, 'docs', 'images');
const WITH_ID = '{ customers { id full_name national_id } }';

/** The budgets' period now and the instant it resets (policies.yaml: privacy.period month, UTC). */
function currentMonth(now = new Date()): { period: string; resetsAt: string } {
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { period: now.toISOString().slice(0, 7), resetsAt: next.toISOString().replace('T', ' ').replace('.000Z', 'Z') };
}

/** Whether the page is wider than the window: the officer would have to scroll sideways. */
const overflow = (page: Page) => page.evaluate(() => ({ scrollWidth: document.scrollingElement!.scrollWidth, innerWidth: window.innerWidth }));

describe.skipIf(!existsSync(CHROMIUM))("the officer's tasks on the dashboard in headless Chromium", () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let dashboard: SignedInDashboard;
  let page: Page;
  let _base: string;
  const problems: string[] = [];
  const month = currentMonth();

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    // kyc-bot asks for national ids, which a human must approve first.
    expect((await kh.graphql(await kh.token('kyc-bot'), WITH_ID)).body.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
    // Two more refusal reasons, so the refusal chart has bars to label.
    expect((await kh.graphql(null, WITH_ID)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await kh.graphql('not-a-token', WITH_ID)).body.errors?.[0]?.extensions?.code).toBe('TOKEN_INVALID');
    // support-bot acting for ada (a delegated token), so the records table has a person to show and filter by.
    const forAda = await issueToken({
      keys: kh.broker.tokenKeys,
      registry: kh.broker.config.registry,
      subject: 'support-bot',
      onBehalfOf: { id: 'ada', claims: { regions: ['EU-DE'], role: 'clerk' } },
    });
    expect((await kh.graphql(forAda, '{ customers { id } }')).status).toBe(200);
    // analytics-bot has spent 96 % of its ε this month, fraud-bot 93.5 % (each in one pure-ε answer, whose
    // ρ is ε²/2); nothing was charged to the dataset.
    await t.db.query(
      `INSERT INTO dp_budget (scope, period, epsilon_limit, delta_limit, pure_epsilon, pure_rho, queries)
       VALUES ('agent:analytics-bot', $1, 20, 1e-6, 19.2, 19.2 * 19.2 / 2, 12), ('agent:fraud-bot', $1, 5, 0, 4.675, 4.675 * 4.675 / 2, 5)`,
      [month.period],
    );
    dashboard = await openSignedInDashboard(kh, { problems, acceptDownloads: true });
    page = dashboard.page;
    _base = dashboard.base;
    await mkdir(IMAGES, { recursive: true });
  });

  afterAll(async () => {
    await dashboard?.close();
    await kh?.close();
    await t?.drop();
  });

  it('fits the window at 1366 and at 390 px: no sideways scrolling', async () => {
    const wide = await overflow(page);
    expect(wide.scrollWidth).toBeLessThanOrEqual(wide.innerWidth);
    await page.screenshot({ path: join(IMAGES, 'officer-dashboard-1366.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(async () => (await overflow(page)).innerWidth).toBe(390);
    // Chart.js resizes its canvases on the next animation frames: the page must settle within the window.
    await expect.poll(async () => (await overflow(page)).scrollWidth, { timeout: 3000 }).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(IMAGES, 'officer-dashboard-390.png') });
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  it('shows on whose behalf each record was fetched, and filters the records by that person', async () => {
    const onBehalfOf = () => page.locator('#log-table tbody tr td:nth-child(4)').allTextContents();
    expect(await onBehalfOf()).toContain('ada');
    await redrawn(page, () =>
      page
        .getByLabel('On behalf of')
        .fill('ada')
        .then(() => page.getByLabel('On behalf of').press('Enter')),
    );
    expect(await onBehalfOf()).toEqual(['ada']);
    expect(await page.locator('#log-table tbody tr td:nth-child(3)').allTextContents()).toEqual(['support-bot']);
    expect(new URL(page.url()).searchParams.get('person')).toBe('ada');
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(async () => (await overflow(page)).scrollWidth, { timeout: 3000 }).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1366, height: 900 });
    await redrawn(page, () =>
      page
        .getByLabel('On behalf of')
        .fill('')
        .then(() => page.getByLabel('On behalf of').press('Enter')),
    );
    expect(new URL(page.url()).search).toBe('');
  });

  it('labels every bar of a chart, even when cramped, and says so when a chart has nothing to draw', async () => {
    // Squeezed to a sliver, Chart.js would label only some bars unless told to label them all.
    await page.evaluate(() => {
      (document.getElementById('denials-chart')!.parentElement as HTMLElement).style.height = '60px';
    });
    const ticks = () =>
      page.evaluate(() => {
        const { Chart } = window as unknown as { Chart: { getChart(canvas: HTMLElement): any } };
        const chart = Chart.getChart(document.getElementById('denials-chart')!);
        return { labels: chart.data.labels.length, ticks: chart.scales.y.ticks.length, height: chart.height };
      });
    await expect.poll(async () => (await ticks()).height).toBeLessThanOrEqual(60);
    expect((await ticks()).labels).toBe(3);
    expect((await ticks()).ticks).toBe(3);
    expect(await page.locator('#special-chart').locator('..').locator('.chart-empty').textContent()).toBe(
      'No special-category field was returned in this range.',
    );
    expect(await page.locator('#special-chart').locator('..').getAttribute('class')).toBe('chart is-empty');
    expect(await page.locator('#decisions-chart').locator('..').locator('.chart-empty').isHidden()).toBe(true);
  });

  it('shows every budget with ε remaining, the reset date and its level in words', async () => {
    const rows = await page
      .locator('#budget-table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((cell) => cell.textContent)));
    expect(rows).toEqual([
      ['analytics-bot', month.period, '19.2', '20', '0.8', '96% red: 95 % or more used', month.resetsAt, '0 / 1.0e-6', '12'],
      ['fraud-bot', month.period, '4.675', '5', '0.325', '93.5% amber: 80 % or more used', month.resetsAt, '0 / 0', '5'],
      ['dataset demo-bank', month.period, '0', '50', '50', '0%', month.resetsAt, '0 / 1.0e-5', '0'],
    ]);
    expect(await page.locator('#budget-table td.level-red').count()).toBe(1);
    expect(await page.locator('#budget-table td.level-amber').count()).toBe(1);
    await page.locator('#budgets').screenshot({ path: join(IMAGES, 'officer-budgets.png') });
  });

  it("approves kyc-bot's national-id request from the panel, recorded under the signed-in officer", async () => {
    const link = page.locator('#pending-link a');
    expect(await link.textContent()).toBe('1 request waits for your approval: open the approvals panel.');
    await link.click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('approvals');
    const row = page.locator('#approvals-table tbody tr');
    expect(await row.locator('td').evaluateAll((tds) => tds.slice(2, 5).map((td) => td.textContent))).toEqual([
      'kyc-bot',
      'kyc_verification',
      'customers.national_id',
    ]);
    await page.locator('#approvals').screenshot({ path: join(IMAGES, 'officer-approvals.png') });
    await page.getByRole('button', { name: 'Deny kyc-bot customers.national_id' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/write the reason first/);

    await page.getByLabel('Hours to approve kyc-bot customers.national_id for').fill('8');
    await redrawn(page, () => page.getByRole('button', { name: 'Approve kyc-bot customers.national_id' }).click());
    expect(await page.locator('#approvals-table tbody td').allTextContents()).toEqual(['No request is waiting for approval.']);
    expect(await page.locator('#pending-link').isHidden()).toBe(true);
    const [approved] = await listApprovals(t.db, 'approved');
    expect(approved).toMatchObject({ agentId: 'kyc-bot', field: 'national_id', decidedBy: 'dpo' });
    const hours = (approved!.expiresAt!.getTime() - approved!.decidedAt!.getTime()) / 3600_000;
    expect(hours).toBeCloseTo(8, 3);
    const reply = await kh.graphql(await kh.token('kyc-bot'), WITH_ID);
    expect(reply.status).toBe(200);
  });

  it('keeps the filters in the query string, so a reload shows the same view', async () => {
    await redrawn(page, () => page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption('fraud-bot'));
    await redrawn(page, () => page.getByRole('combobox', { name: 'Outcome' }).selectOption('allow'));
    expect(new URL(page.url()).searchParams.toString()).toBe('agent=fraud-bot&outcome=allow');
    await page.reload();
    await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) > 0);
    expect(await page.getByRole('combobox', { name: 'Agent', exact: true }).inputValue()).toBe('fraud-bot');
    expect(await page.getByRole('combobox', { name: 'Outcome' }).inputValue()).toBe('allow');
    expect(await page.locator('#budget-table tbody th').allTextContents()).toEqual(['fraud-bot', 'dataset demo-bank']);
    await redrawn(page, () => page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption(''));
    await redrawn(page, () => page.getByRole('combobox', { name: 'Outcome' }).selectOption('deny,flag'));
    expect(new URL(page.url()).search).toBe('');
  });

  it('exports a table as RFC 4180 CSV, with formula-like text defused', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /^Export Privacy budget.* as CSV$/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^keyhole-budgets-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(await readFile((await download.path())!, 'utf8')).toBe(
      [
        'Budget,Period,ε spent,ε limit,ε remaining,Used,Resets (UTC),δ spent / limit,Queries',
        `analytics-bot,${month.period},19.2,20,0.8,96% red: 95 % or more used,${month.resetsAt},0 / 1.0e-6,12`,
        `fraud-bot,${month.period},4.675,5,0.325,93.5% amber: 80 % or more used,${month.resetsAt},0 / 0,5`,
        `dataset demo-bank,${month.period},0,50,50,0%,${month.resetsAt},0 / 1.0e-5,0`,
        '',
      ].join('\r\n'),
    );

    // Cells as a spreadsheet would read them: a formula, a quote, a comma, a negative number.
    await page.evaluate(() => {
      const row = document.createElement('tr');
      for (const text of ['=HYPERLINK("http://x")', 'say "hi", then', '-3', '@sum', '', '', '', '', '', '']) {
        const cell = document.createElement('td');
        cell.textContent = text;
        row.append(cell);
      }
      document.querySelector('#agents-table tbody')!.replaceChildren(row);
    });
    const [agents] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export Agents as CSV' }).click()]);
    const lines = (await readFile((await agents.path())!, 'utf8')).split('\r\n');
    expect(lines[1]).toBe(`"'=HYPERLINK(""http://x"")","say ""hi"", then",-3,'@sum,,,,,,`);
    expect(problems).toEqual([]);
  });
});
