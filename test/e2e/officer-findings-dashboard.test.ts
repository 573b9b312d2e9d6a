import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, openSignedInDashboard, redrawn, type SignedInDashboard } from '../support/browser.ts';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { seedAuditTrail } from './officer-fixtures.ts';

const GROUP = 'support-bot · cross_border_transfer · flag · EU-DE';

describe.skipIf(!existsSync(CHROMIUM))('finding groups on the officer dashboard in headless Chromium', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let dashboard: SignedInDashboard;
  let page: Page;
  const problems: string[] = [];
  const groupRow = () => page.locator('#findings-table tbody tr', { has: page.getByRole('button', { name: `Acknowledge ${GROUP}` }) });

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    await seedAuditTrail(kh);
    dashboard = await openSignedInDashboard(kh, { problems });
    page = dashboard.page;
  });

  afterAll(async () => {
    await dashboard?.close();
    await kh?.close();
    await t?.drop();
  });

  it("opens a group's newest record in the record dialog", async () => {
    const row = groupRow();
    expect(await row.locator('td').nth(5).textContent()).toBe('3');
    expect(await row.locator('td').nth(9).textContent()).toBe('new');
    const newest = row.getByRole('button', { name: /^Open audit record \d+ of / }).first();
    const seq = Number((await newest.textContent())!.slice(1));
    await newest.click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await page.locator('#record-title').textContent()).toBe(`Audit record #${seq}`);
    const record = JSON.parse((await page.locator('#record-json').textContent())!);
    expect(record).toMatchObject({ seq, actorId: 'support-bot' });
    expect(record.findings).toContainEqual(expect.objectContaining({ check: 'cross_border_transfer', outcome: 'flag', jurisdiction: 'EU-DE' }));
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(problems).toEqual([]);
  });

  it('acknowledges a group with a note, and marks it acknowledged', async () => {
    await groupRow()
      .getByRole('button', { name: `Acknowledge ${GROUP}` })
      .click();
    await expect.poll(() => page.locator('#error').textContent()).toContain('write why in the note first');
    expect((await t.db.query('SELECT * FROM finding_acks')).rows).toEqual([]);

    await groupRow().getByLabel(`Note: Decision on ${GROUP}`).fill('EU desk serves these customers under SCCs');
    await redrawn(page, () =>
      groupRow()
        .getByRole('button', { name: `Acknowledge ${GROUP}` })
        .click(),
    );
    const row = groupRow();
    expect(await row.getAttribute('class')).toBe('finding-flag finding-acknowledged');
    expect(await row.locator('td').nth(6).textContent()).toBe('0');
    expect(await row.locator('td').nth(9).textContent()).toMatch(/^acknowledged by dpo \S+ \S+: EU desk serves these customers under SCCs$/);
    // The click scrolled the table to its buttons; the picture starts at the agent.
    await page.locator('#findings-table').evaluate((table) => table.parentElement!.scrollTo(0, 0));
    await page.locator('section[aria-labelledby="findings-title"]').screenshot({ path: join(PROJECT_ROOT, 'docs', 'images', 'officer-findings.png') });
    expect(await page.locator('#error').isHidden()).toBe(true);
    const { rows } = await t.db.query<Record<string, unknown>>(
      'SELECT agent_id, check_name, outcome, jurisdiction, status, note, decided_by FROM finding_acks',
    );
    expect(rows).toEqual([
      {
        agent_id: 'support-bot',
        check_name: 'cross_border_transfer',
        outcome: 'flag',
        jurisdiction: 'EU-DE',
        status: 'acknowledged',
        note: 'EU desk serves these customers under SCCs',
        decided_by: 'dpo',
      },
    ]);
    expect(problems).toEqual([]);
  });
});
