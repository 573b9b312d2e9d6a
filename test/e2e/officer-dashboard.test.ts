import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentYoga } from '../../src/graphql/yoga.ts';
import { silentLog } from '../../src/log.ts';
import { useOfficerRoutes } from '../../src/officer/index.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { seedAuditTrail } from './officer-fixtures.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = join(PROJECT_ROOT, 'test-artifacts', 'officer-dashboard.png');
const CHART_IDS = ['accesses-chart', 'decisions-chart', 'denials-chart', 'budget-chart', 'special-chart'] as const;

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
        return [id, chart ? { type: chart.config.type, labels: [...chart.data.labels], datasets: chart.data.datasets.map((d: any) => ({ label: d.label, data: [...d.data] })) } : null];
      }),
    );
  }, CHART_IDS);
}

const sum = (shape: ChartShape | null | undefined) => (shape?.datasets ?? []).flatMap((d) => d.data).reduce<number>((n, v) => n + (v ?? 0), 0);

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
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Nothing but our own server: an external fetch (a CDN, fonts) is a failure, not a slow test.
    await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : (problems.push(`external request: ${route.request().url()}`), route.abort())));
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
    // Seeded 3 and 2 days ago and today: four days, the quiet one drawn as a gap.
    expect(accesses.labels).toHaveLength(4);
    expect(accesses.datasets.find((d) => d.label === 'kyc-bot')!.data).toEqual([0, 1, 0, 0]);
    expect(sum(accesses)).toBe(6);
    expect(charts['decisions-chart']).toMatchObject({ type: 'doughnut', labels: ['allowed', 'denied'], datasets: [{ data: [5, 1] }] });
    expect(charts['denials-chart']).toMatchObject({ labels: ['UNAUTHENTICATED'], datasets: [{ data: [1] }] });
    expect(charts['budget-chart']).toMatchObject({ labels: ['analytics-bot'], datasets: [{ label: 'ε spent', data: [0.75] }] });
    expect(charts['special-chart']).toMatchObject({ labels: ['kyc-bot · health_claims.diagnosis_code (generalise)'], datasets: [{ data: [1] }] });

    const sgToDe = page.locator('#flows tbody tr', { has: page.locator('th', { hasText: /^SG$/ }) }).locator('td').nth(1);
    expect(await page.locator('#flows thead th').allTextContents()).toEqual(['Agent location ↓ / subject →', 'CN', 'EU-DE', 'EU-FR', 'IN', 'SG', 'US-CA']);
    expect(await sgToDe.textContent()).toBe('1 (1)');
    expect(await sgToDe.getAttribute('class')).toBe('cross');
    expect(await page.locator('#log-table tbody tr').count()).toBe(6);
    expect(await page.locator('#findings-table tbody tr td').nth(3).textContent()).toBe('special_category');

    await mkdir(join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });

  it('refetches and redraws when a filter changes', async () => {
    const before = Number(await page.evaluate(() => document.body.dataset.loaded));
    await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption('fraud-bot');
    const afterAgent = await loadedAfter(page, before);
    const charts = await chartData(page);
    expect(charts['accesses-chart']!.datasets.map((d) => d.label)).toEqual(['fraud-bot']);
    expect(sum(charts['accesses-chart']!)).toBe(1);
    expect(charts['budget-chart']!.labels).toEqual([]);
    expect(await page.locator('#log-table tbody tr td:nth-child(3)').allTextContents()).toEqual(['fraud-bot']);
    expect(await page.locator('#flows tbody th').allTextContents()).toEqual(['EU-DE']);

    await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption('');
    const allAgents = await loadedAfter(page, afterAgent);
    expect(sum((await chartData(page))['accesses-chart'])).toBe(6);
    await page.getByLabel('From', { exact: true }).fill(new Date().toISOString().slice(0, 10));
    await loadedAfter(page, allAgents);
    const today = await chartData(page);
    expect(today['accesses-chart']!.datasets.map((d) => d.label)).toEqual(['anonymous', 'fraud-bot', 'support-bot']);
    expect(today['special-chart']!.labels).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('opens the full audit record of a row', async () => {
    await page.locator('#log-table tbody tr', { hasText: 'support-bot' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    const record = JSON.parse((await page.locator('#record-json').textContent())!);
    expect(record).toMatchObject({ actorId: 'support-bot', decision: 'allowed', rowCount: 5, subjectCount: 5, tables: ['customers'] });
    expect(record.fields).toContainEqual(expect.objectContaining({ table: 'customers', field: 'segment', mask: 'clear', special: false }));
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
