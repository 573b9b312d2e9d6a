import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raiseAnomalies, type RaisedFinding } from '../../src/agent-controls/baselines/anomalies.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { CHROMIUM, openSignedInDashboard, redrawn, type SignedInDashboard } from '../support/browser.ts';

/** An officer's note is the one free text here: it must stay text. */
const MARKUP_NOTE = '<img src=x onerror="window.__pwned=1"> known batch job';

const finding = (agentId: string, statistic: string, overrides: Partial<RaisedFinding> = {}): RaisedFinding => ({
  kind: 'request',
  statistic: statistic as RaisedFinding['statistic'],
  value: 50,
  threshold: 26.7,
  score: 15.3,
  baseline: { median: 3, mad: 2, spread: 2, observations: 80, zThreshold: 8 },
  detail: null,
  agentId,
  purpose: agentId === 'support-bot' ? 'customer_service' : 'fraud_detection',
  windowStart: null,
  windowEnd: null,
  requestId: 'req-1',
  auditSeq: null,
  quarantines: agentId === 'support-bot',
  ...overrides,
});

const rowsOf = (page: Page) => page.locator('#anomalies-table tbody tr');

describe.skipIf(!existsSync(CHROMIUM))("the dashboard's anomalies section in headless Chromium", () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let dashboard: SignedInDashboard;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db, { env: { KEYHOLE_BASELINE_INTERVAL_MS: '0' } });
    await t.db.transaction((tx) =>
      raiseAnomalies(tx, kh.broker.secrets.auditKey, [
        finding('support-bot', 'rowsPerRequest'),
        finding('support-bot', 'newField', { kind: 'new_field', value: 0, threshold: null, score: null, baseline: null, detail: 'customers.phone' }),
        finding('fraud-bot', 'subjectsPerWindow', { kind: 'window', value: 400, threshold: 94.1 }),
      ]),
    );
    // The broker learns of the quarantine at its next round, as it would within KEYHOLE_BASELINE_INTERVAL_MS.
    await kh.broker.baselines.tick();
    dashboard = await openSignedInDashboard(kh, { problems, viewport: { width: 1360, height: 900 } });
    page = dashboard.page;
    page.on('dialog', (dialog) => problems.push(`dialog: ${dialog.message()}`));
  });

  afterAll(async () => {
    await dashboard?.close();
    await kh?.close();
    await t?.drop();
  });

  it('lists the open anomalies with their statistic, value, threshold and baseline, and the quarantined agent', async () => {
    expect(await page.locator('#total-anomalies').textContent()).toBe('3');
    expect(await page.locator('#card-anomalies').getAttribute('class')).toBe('card warn');
    expect(await page.locator('#total-quarantined').textContent()).toBe('1');
    expect(await page.locator('#card-quarantined').getAttribute('class')).toBe('card alert');
    expect(await page.locator('#quarantines li').allTextContents()).toEqual([expect.stringMatching(/^support-bot quarantined since .*: 2 open anomalies;/)]);
    const cells = await rowsOf(page).evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].slice(2, 11).map((td) => td.textContent)));
    expect(cells).toEqual(
      expect.arrayContaining([
        ['support-bot', 'customer_service', 'rowsPerRequest', '50', '26.7', '3', '1', 'yes', 'open'],
        ['support-bot', 'customer_service', 'newField customers.phone', '0', '—', '—', '1', 'yes', 'open'],
        ['fraud-bot', 'fraud_detection', 'subjectsPerWindow', '400', '94.1', '3', '1', 'no', 'open'],
      ]),
    );
    expect(await rowsOf(page).count()).toBe(3);
  });

  it('asks for a note, then clears one anomaly and keeps the note as text', async () => {
    const fraudRow = page.locator('#anomalies-table tbody tr', { hasText: 'fraud-bot' });
    await fraudRow.getByRole('button').click();
    expect(await page.getByRole('alert').textContent()).toMatch(/write why in the note first/);
    await fraudRow.getByRole('textbox').fill(MARKUP_NOTE);
    await redrawn(page, () => fraudRow.getByRole('button').click());
    expect(await rowsOf(page).count()).toBe(2);
    expect(await page.locator('#total-anomalies').textContent()).toBe('2');

    await redrawn(page, () => page.getByRole('combobox', { name: 'Status' }).selectOption('cleared'));
    const cleared = rowsOf(page);
    expect(await cleared.count()).toBe(1);
    expect(await cleared.locator('td').nth(10).textContent()).toMatch(new RegExp(`^cleared by dpo .*: ${MARKUP_NOTE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(await page.locator('#anomalies-table img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const { rows } = await t.db.query("SELECT status, cleared_by, note FROM agent_anomalies WHERE agent_id = 'fraud-bot'");
    expect(rows).toEqual([{ status: 'cleared', cleared_by: 'dpo', note: MARKUP_NOTE }]);
  });

  it("clears the agent's quarantine, and the broker serves it again", async () => {
    const token = await kh.token('support-bot');
    expect((await kh.graphql(token, '{ customers(limit: 1) { id } }')).body.errors?.[0]?.extensions?.code).toBe('APPROVAL_REQUIRED');
    await redrawn(page, () => page.getByRole('combobox', { name: 'Status' }).selectOption('open'));
    const quarantine = page.locator('#quarantines li');
    await quarantine.getByRole('textbox').fill('Red-team exercise, agreed with the desk.');
    await redrawn(page, () => quarantine.getByRole('button', { name: 'Clear quarantine of support-bot' }).click());
    expect(await page.locator('#quarantines li').count()).toBe(0);
    expect(await page.locator('#total-quarantined').textContent()).toBe('0');
    expect(await page.locator('#anomalies-table tbody td').allTextContents()).toEqual(['Nothing in this range.']);
    expect((await kh.graphql(token, '{ customers(limit: 1) { id } }')).status).toBe(200);
    expect(problems).toEqual([]);
  });
});
