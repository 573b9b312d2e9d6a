import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComposedCost, epsilonAt } from '../../src/dp/index.ts';
import { createAgentYoga } from '../../src/graphql/index.ts';
import { silentLog } from '../../src/log.ts';
import { useOfficerRoutes } from '../../src/officer/index.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { seedAuditTrail } from './officer-fixtures.ts';
import { CHROMIUM } from '../support/browser.ts';

const SCREENSHOT = join(PROJECT_ROOT, 'test-artifacts', 'officer-dashboard.png');
const CHART_IDS = ['accesses-chart', 'decisions-chart', 'denials-chart', 'budget-chart', 'special-chart', 'findings-chart', 'withheld-chart'] as const;

if (!existsSync(CHROMIUM)) {
  console.warn(`officer dashboard test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}

interface ChartShape {
  type: string;
  labels: string[];
  datasets: Array<{ label: string; data: Array<number | null> }>;
}

/** What Chart.js itself holds for each canvas (not what the page claims to show). */
async function chartData(page: Page): Promise<Record<string, ChartShape | null>> {
  return page.evaluate((ids) => {
    const { Chart } = window as unknown as { Chart: { getChart(canvas: HTMLCanvasElement): any } };
    return Object.fromEntries(
      ids.map((id) => {
        const chart = Chart.getChart(document.getElementById(id) as HTMLCanvasElement);
        return [
          id,
          chart
            ? {
                type: chart.config.type,
                labels: [...chart.data.labels],
                datasets: chart.data.datasets.map((d: any) => ({ label: d.label, data: [...d.data] })),
              }
            : null,
        ];
      }),
    );
  }, CHART_IDS);
}

const sum = (shape: ChartShape | null | undefined) => (shape?.datasets ?? []).flatMap((d) => d.data).reduce<number>((n, v) => n + (v ?? 0), 0);

/** What the DP ledger itself holds, per scope: ε spent composed at the row's δ limit, and the limit. */
async function ledger(t: TestDatabase): Promise<Map<string, { period: string; spent: number; limit: number }>> {
  const { rows } = await t.db.query<Record<string, number> & { scope: string; period: string }>('SELECT * FROM dp_budget ORDER BY scope');
  return new Map(
    rows.map((r) => {
      const composed: ComposedCost = {
        pureEpsilon: Number(r.pure_epsilon),
        pureRho: Number(r.pure_rho),
        approxEpsilon: Number(r.approx_epsilon),
        approxDelta: Number(r.approx_delta),
        rho: Number(r.rho),
      };
      return [r.scope, { period: r.period, spent: epsilonAt(composed, r.delta_limit!), limit: r.epsilon_limit! }];
    }),
  );
}

const texts = (page: Page, selector: string) => page.locator(selector).allTextContents();

/** Waits until the page has drawn an answer newer than `after`. */
async function loadedAfter(page: Page, after: number): Promise<number> {
  const handle = await page.waitForFunction((n) => Number(document.body.dataset.loaded ?? 0) > n && document.body.dataset.loaded, after);
  return Number(await handle.jsonValue());
}

describe.skipIf(!existsSync(CHROMIUM))('officer dashboard in headless Chromium', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let base: string;
  const problems: string[] = [];

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    await seedAuditTrail(kh);
    const { broker } = kh;
    // The broker's own server with the officer routes plugged in, as src/broker.ts will wire them.
    const yoga = createAgentYoga({
      db: broker.db,
      registry: broker.config.registry,
      tokenKeys: broker.tokenKeys,
      auditKey: broker.secrets.auditKey,
      views: broker.views,
      log: silentLog,
      routes: [useOfficerRoutes({ db: broker.db, config: broker.config, tokenKeys: broker.tokenKeys, secrets: broker.secrets, log: silentLog })],
    });
    server = createServer(yoga as unknown as RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Nothing but our own server: an external fetch (a CDN, fonts) is a failure, not a slow test.
    await page.route('**/*', (route) => {
      if (route.request().url().startsWith(base)) return route.continue();
      problems.push(`external request: ${route.request().url()}`);
      return route.abort();
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await kh?.close();
    await t?.drop();
  });

  it('signs in with an officer token and draws every chart from the seeded records', async () => {
    await page.goto(`${base}/officer`);
    await page.getByLabel('Officer token').fill(await kh.token('dpo'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await loadedAfter(page, 0);
    await expect.poll(() => page.locator('#chain-status').textContent()).toMatch(/^intact \(\d+ records\)$/);
    expect(await page.locator('#whoami').textContent()).toContain('dpo');

    for (const id of CHART_IDS) {
      const box = await page.locator(`#${id}`).boundingBox();
      expect(box?.width, id).toBeGreaterThan(100);
      expect(box?.height, id).toBeGreaterThan(100);
    }
    const charts = await chartData(page);
    const accesses = charts['accesses-chart']!;
    expect(accesses.type).toBe('bar');
    expect(accesses.datasets.map((d) => d.label)).toEqual(['analytics-bot', 'anonymous', 'fraud-bot', 'kyc-bot', 'support-bot']);
    // The special-category record two days ago, everything else today: three days, the quiet one drawn as a gap.
    expect(accesses.labels).toHaveLength(3);
    expect(accesses.datasets.find((d) => d.label === 'kyc-bot')!.data).toEqual([1, 0, 0]);
    expect(accesses.datasets.find((d) => d.label === 'analytics-bot')!.data).toEqual([0, 0, 5]);
    expect(sum(accesses)).toBe(11);
    expect(charts['decisions-chart']).toMatchObject({ type: 'doughnut', labels: ['allowed', 'denied'], datasets: [{ data: [8, 3] }] });
    expect(charts['denials-chart']).toMatchObject({
      labels: ['PRIVACY_LIMIT_EXCEEDED', 'TRANSFER_DENIED', 'UNAUTHENTICATED'],
      datasets: [{ data: [1, 1, 1] }],
    });

    // ε spent against the limit, per agent and for the dataset, exactly as the ledger composes it.
    const budgets = await ledger(t);
    const agentBudget = budgets.get('agent:analytics-bot')!;
    const datasetBudget = budgets.get('dataset:demo-bank')!;
    // fraud-bot may spend but has not: its budget is listed at 0 for the current period.
    const thisMonth = new Date().toISOString().slice(0, 7);
    expect(charts['budget-chart']).toEqual({
      type: 'bar',
      labels: [`analytics-bot · ${agentBudget.period}`, `fraud-bot · ${thisMonth}`, `dataset demo-bank · ${datasetBudget.period}`],
      datasets: [
        { label: 'ε spent', data: [agentBudget.spent, 0, datasetBudget.spent] },
        { label: 'ε limit', data: [20, 5, 50] },
      ],
    });
    expect(agentBudget.spent).toBeGreaterThan(1.5);
    expect(await texts(page, '#budget-table tbody th')).toEqual(['analytics-bot', 'fraud-bot', 'dataset demo-bank']);
    const shown = (value: number, options: Intl.NumberFormatOptions = {}) =>
      new Intl.NumberFormat('en', { maximumFractionDigits: 3, ...options }).format(value);
    const [year, month] = agentBudget.period.split('-').map(Number);
    expect(await texts(page, '#budget-table tbody tr:first-child td')).toEqual([
      agentBudget.period,
      shown(agentBudget.spent),
      '20',
      shown(20 - agentBudget.spent),
      shown(agentBudget.spent / 20, { style: 'percent', maximumFractionDigits: 1 }),
      new Date(Date.UTC(year!, month!, 1)).toISOString().replace('T', ' ').replace('.000Z', 'Z'),
      '1.0e-8 / 1.0e-6',
      '3',
    ]);

    expect(charts['special-chart']).toMatchObject({ labels: ['kyc-bot · health_claims.diagnosis_code (partial)'], datasets: [{ data: [1] }] });
    expect(charts['findings-chart']).toEqual({
      type: 'bar',
      labels: ['cross_border_transfer', 'purpose_limitation', 'special_category', 'transfer_volume'],
      datasets: [
        { label: 'deny', data: [1, 0, 0, 0] },
        { label: 'flag', data: [6, 1, 1, 0] },
        { label: 'allow', data: [5, 0, 2, 1] },
      ],
    });
    expect(charts['withheld-chart']).toMatchObject({ labels: ['support-bot · CN'], datasets: [{ data: [2] }] });

    expect(await page.locator('#total-requests').textContent()).toBe('11');
    expect(await page.locator('#total-denied').textContent()).toBe('3');
    expect(await page.locator('#total-deny-findings').textContent()).toBe('1');
    expect(await page.locator('#card-deny').getAttribute('class')).toBe('card alert');
    expect(await page.locator('#total-flag-findings').textContent()).toBe('8');
    expect(await page.locator('#total-withheld').textContent()).toBe('2');

    // One row per agent, with its location.
    const flowRow = (source: string) => page.locator('#flows tbody tr', { has: page.locator('th', { hasText: source }) });
    expect(await page.locator('#flows thead th').allTextContents()).toEqual(['Agent (location) ↓ / subject →', 'CN', 'EU-DE', 'EU-FR', 'IN', 'SG', 'US-CA']);
    expect(await texts(page, '#flows tbody th')).toEqual(['fraud-bot (EU-DE)', 'kyc-bot (SG)', 'support-bot (SG)']);
    const supportToDe = flowRow('support-bot (SG)').locator('td').nth(1);
    expect(await supportToDe.textContent()).toBe('2 (1)');
    expect(await supportToDe.getAttribute('class')).toBe('cross');
    // CN customers were withheld from support-bot (SG): no record carried one there.
    expect(await flowRow('support-bot (SG)').locator('td').nth(0).getAttribute('class')).toBe('empty');
    expect(await flowRow('fraud-bot (EU-DE)').locator('td').nth(0).textContent()).toBe('1 (1)');
    expect(await page.locator('#log-table tbody tr').count()).toBe(11);

    // Denials and flags by default, one row per agent, check, outcome and jurisdiction; the denial first and marked as one.
    const findingRows = page.locator('#findings-table tbody tr');
    // The card's 1 denial and 8 flags, in six groups.
    expect(await texts(page, '#findings-table tbody td:nth-child(6)')).toEqual(['1', '3', '2', '1', '1', '1']);
    expect(await findingRows.first().getAttribute('class')).toBe('finding-deny');
    expect((await findingRows.first().locator('td').allTextContents()).slice(0, 5)).toEqual([
      'support-bot',
      'cross_border_transfer',
      'deny',
      'EU-FR',
      'GDPR Art. 44',
    ]);
    expect(await texts(page, '#findings-table tbody td:nth-child(3)')).toEqual(['deny', ...Array(5).fill('flag')]);

    await mkdir(join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    // For docs/officers.md: the flows table and the audit chain's status, as this seeded trail shows them.
    await page.locator('section[aria-labelledby="flows-title"]').screenshot({ path: join(PROJECT_ROOT, 'docs', 'images', 'officer-flows.png') });
    await page.locator('section[aria-labelledby="filters-title"]').screenshot({ path: join(PROJECT_ROOT, 'docs', 'images', 'officer-audit-chain.png') });
    expect(problems).toEqual([]);
  });

  it('refetches and redraws when a filter changes', async () => {
    const before = Number(await page.evaluate(() => document.body.dataset.loaded));
    await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption('fraud-bot');
    const afterAgent = await loadedAfter(page, before);
    const charts = await chartData(page);
    expect(charts['accesses-chart']!.datasets.map((d) => d.label)).toEqual(['fraud-bot']);
    expect(sum(charts['accesses-chart']!)).toBe(1);
    // The dataset's budget is everyone's: it stays when one agent is picked, next to the agent's own (unspent) one.
    expect(charts['budget-chart']!.labels).toEqual([expect.stringMatching(/^fraud-bot · /), expect.stringMatching(/^dataset demo-bank · /)]);
    expect(charts['withheld-chart']!.labels).toEqual([]);
    expect(await texts(page, '#log-table tbody tr td:nth-child(3)')).toEqual(['fraud-bot']);
    expect(await texts(page, '#flows tbody th')).toEqual(['fraud-bot (EU-DE)']);
    expect(await texts(page, '#findings-table tbody td:nth-child(4)')).toEqual(['CN']);

    await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption('');
    const allAgents = await loadedAfter(page, afterAgent);
    expect(sum((await chartData(page))['accesses-chart'])).toBe(11);

    await page.getByRole('combobox', { name: 'Outcome' }).selectOption('allow');
    const allowed = await loadedAfter(page, allAgents);
    expect(await texts(page, '#findings-table tbody td:nth-child(3)')).toEqual(Array(6).fill('allow'));
    await page.getByRole('combobox', { name: 'Check' }).selectOption('special_category');
    const special = await loadedAfter(page, allowed);
    expect(await texts(page, '#findings-table tbody td:nth-child(4)')).toEqual(['CN', 'SG']);
    await page.getByRole('combobox', { name: 'Outcome' }).selectOption('deny,flag');
    const specialConcerns = await loadedAfter(page, special);
    expect(await texts(page, '#findings-table tbody td:nth-child(1)')).toEqual(['kyc-bot']);
    await page.getByRole('combobox', { name: 'Check' }).selectOption('');
    const defaults = await loadedAfter(page, specialConcerns);

    await page.getByLabel('From', { exact: true }).fill(new Date().toISOString().slice(0, 10));
    await loadedAfter(page, defaults);
    const today = await chartData(page);
    expect(today['accesses-chart']!.datasets.map((d) => d.label)).toEqual(['analytics-bot', 'anonymous', 'fraud-bot', 'support-bot']);
    expect(today['special-chart']!.labels).toEqual([]);
    expect(today['findings-chart']!.labels).toEqual(['cross_border_transfer', 'special_category', 'transfer_volume']);
    expect(problems).toEqual([]);
  });

  it('opens the full audit record of a row', async () => {
    // The oldest agent request of today: support-bot's first read (its seq depends on what the broker audits at start).
    await page.locator('#log-table tbody tr').last().click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    const record = JSON.parse((await page.locator('#record-json').textContent())!);
    expect(record).toMatchObject({ actorId: 'support-bot', decision: 'allowed', rowCount: 4, subjectCount: 4, tables: ['customers'] });
    expect(record.fields).toContainEqual(expect.objectContaining({ table: 'customers', field: 'email', mask: 'email', special: false }));
    expect(record.details.withheld).toEqual([{ table: 'customers', rows: 1, jurisdictions: ['CN'] }]);
    expect(record.findings).toContainEqual(expect.objectContaining({ check: 'cross_border_transfer', outcome: 'flag', jurisdiction: 'EU-DE' }));
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
  });

  it('refuses an agent token with a visible error and no data', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Officer token').fill(await kh.token('support-bot'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.isVisible()).toBe(true);
    expect(await alert.textContent()).toMatch(/is an agent.*\(NOT_AN_OFFICER\)/);
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('keyhole.officerToken'))).toBeNull();
    const refusal = (await t.db.query<Record<string, unknown>>('SELECT actor_id, code FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0];
    expect(refusal).toEqual({ actor_id: 'support-bot', code: 'NOT_AN_OFFICER' });
    expect(problems).toEqual([]);
  });
});
