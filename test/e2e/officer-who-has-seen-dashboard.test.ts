import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, startTestBroker, type TestBroker } from '../support/broker.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { CHROMIUM, openSignedInDashboard, type SignedInDashboard } from '../support/browser.ts';

describe.skipIf(!existsSync(CHROMIUM))('who-has-seen on the dashboard in headless Chromium', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let dashboard: SignedInDashboard;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    // support-bot's desk sees customer 2 (Jonas Becker, EU-DE) and not customer 3 (Maria Lopez, US-CA).
    expect((await kh.graphql(await kh.token('support-bot'), '{ customers(limit: 10) { id email } }')).body.errors).toBeUndefined();
    dashboard = await openSignedInDashboard(kh, { problems, acceptDownloads: true });
    page = dashboard.page;
  });

  afterAll(async () => {
    await dashboard?.close();
    await kh?.close();
    await t?.drop();
  });

  /** Looks a person up through the form and waits for the new answer. */
  async function lookUp(kind: string, value: string, birthDate?: string): Promise<{ outcome: string; text: string }> {
    await page.locator('#seen-result').evaluate((out) => out.replaceChildren());
    await page.getByLabel('Identify by').selectOption(kind);
    await page.locator('#seen-id').fill(value);
    if (birthDate) await page.getByLabel('Birth date', { exact: true }).fill(birthDate);
    await page.getByRole('button', { name: 'Look up' }).click();
    const summary = page.locator('#seen-result .seen-outcome');
    await summary.waitFor();
    return { outcome: (await summary.getAttribute('data-outcome')) ?? '', text: (await page.locator('#seen-result').textContent()) ?? '' };
  }

  it('answers an e-mail typed by the officer with who saw the customer and the masks applied', async () => {
    const seen = await lookUp('email', 'jonas.becker@example.de');
    // Only a name needs a birth date.
    expect(await page.getByLabel('Birth date', { exact: true }).isVisible()).toBe(false);
    expect(seen.outcome).toBe('SEEN');
    expect(seen.text).toContain('was seen by support-bot in 1 request.');
    expect(seen.text).toMatch(/customers\.email: email \(\S+/);
    await page.locator('section[aria-labelledby="seen-title"]').screenshot({ path: join(PROJECT_ROOT, 'docs', 'images', 'officer-who-has-seen.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download access report (JSON)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^keyhole-access-report-\w+-\d{4}-\d{2}-\d{2}\.json$/);
    const report = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(report).toMatchObject({ outcome: 'SEEN', recipients: ['support-bot'], generatedBy: 'dpo' });
    expect(report.disclosures[0].fields).toContainEqual(expect.objectContaining({ table: 'customers', field: 'email', mask: 'email' }));
  });

  it('tells "no such data subject" from "not seen", in words', async () => {
    const unknown = await lookUp('email', 'laura.fischer@gmx.de');
    expect(unknown).toMatchObject({ outcome: 'NO_SUCH_SUBJECT' });
    expect(unknown.text).toContain('No customer has the e-mail “laura.fischer@gmx.de”');
    const unseen = await lookUp('email', 'maria.lopez@example.com');
    expect(unseen.outcome).toBe('NOT_SEEN');
    expect(unseen.text).toContain('exists, and no request has returned data about them');
    const byName = await lookUp('name', 'Maria Lopez', '1990-07-21');
    expect(byName.outcome).toBe('NOT_SEEN');
    expect(problems).toEqual([]);
  });
});
