import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditRecord, subjectPseudonym } from '../../src/audit/index.ts';
import { auditDraft } from '../support/audit.ts';
import { useRedTeam } from './support.ts';
import { CHROMIUM } from '../support/browser.ts';

if (!existsSync(CHROMIUM)) {
  console.warn(`dashboard XSS red team skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}

/**
 * Markup that runs script if it is ever parsed as HTML: each sets window.__xss and opens a dialog. Short enough
 * (≤ 64 characters) to fit every place an agent can put text, a claimed token subject included.
 */
const PAYLOADS = [
  '<script>window.__xss=1;alert(1)</script>',
  '<img src=x onerror="window.__xss=2;alert(2)">',
  '<svg onload="window.__xss=3;alert(3)">',
  '"><iframe srcdoc="<script>parent.__xss=4</script>">',
  'javascript:window.__xss=5;alert(5)',
  '</pre></dialog><img src=x onerror=alert(6)>',
  "'-alert(7)-'{{constructor.constructor('alert(7)')()}}",
] as const;

/** The codes of the refusals planted through the real pipeline (the planted allowed record has its own markup as code). */
const PLANTED_CODES = new Set(['OPERATION_RESOLUTION_FAILURE', 'TOKEN_INVALID', 'INVALID_ARGUMENT', PAYLOADS[4]]);

/** Elements or attributes the page never makes itself: finding one means a value was parsed as markup. */
const INJECTED = 'script:not([src]), img, svg, iframe, object, embed, [onerror], [onload], [srcdoc], a[href^="javascript:" i]';

/**
 * Stored XSS: an agent (or anyone holding a token, or none) plants markup in what the officers' dashboard later
 * draws — the operation name, a claimed token subject, a data value — and a
 * record holding markup in every text field, for paths that do not exist yet. In Chromium, with the page's own
 * Content-Security-Policy bypassed (so the escaping is what is tested) and with it enforced (so it never has
 * anything to block), the dashboard shows every value as text and runs none.
 */
describe.skipIf(!existsSync(CHROMIUM))('red team: stored XSS into the officer dashboard, in headless Chromium', () => {
  const rt = useRedTeam({
    seed: async (db) => {
      for (const [i, payload] of PAYLOADS.entries()) {
        await db.query("INSERT INTO transactions (id, account_id, amount, merchant_category, occurred_at, note) VALUES ($1, 10, '1.00', 'travel', now(), $2)", [
          900 + i,
          payload,
        ]);
      }
    },
  });
  let server: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const support = await rt.token('support-bot');
    for (const payload of PAYLOADS) {
      // The operation name an agent sends is recorded as sent.
      await rt.contained(() => rt.post(support, JSON.stringify({ query: '{ viewer { agent } }', operationName: payload })), {
        status: 400,
        code: 'OPERATION_RESOLUTION_FAILURE',
      });
      // A forged token's subject is recorded as the agent it claimed to be.
      const forged = `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: payload })).toString('base64url')}.AAAA`;
      await rt.contained(() => rt.kh.graphql(forged, '{ viewer { agent } }'), { status: 401, code: 'TOKEN_INVALID' });
      // A refusal's reason no longer repeats the value it could not take (audit-reasons.test.ts); the hand-written
      // record below still puts markup in a reason.
    }
    // A data value the agent reads (a prompt-injection note, in the demo world's words).
    const notes = await rt.kh.graphql(await rt.token('fraud-bot'), '{ transactions(where: { id: { gte: 900 } }, limit: 20) { id note } }');
    expect(notes.status).toBe(200);

    // Markup in every text field a record has: what any future path into the log could carry.
    const { db, secrets } = rt.kh.broker;
    const markup = (i: number) => PAYLOADS[i % PAYLOADS.length]!;
    await db.transaction((tx) =>
      appendAuditRecord(
        tx,
        secrets.auditKey,
        auditDraft({
          actorId: markup(0),
          purpose: markup(1),
          actorLocation: markup(2),
          operationName: markup(3),
          code: markup(4),
          reason: markup(5),
          decision: 'allowed',
          tables: [markup(6)],
          fields: [{ table: markup(0), field: markup(1), mask: markup(2), rule: markup(3) }],
          rowCount: 1,
          subjects: new Map([[subjectPseudonym(secrets.subjectKey, 'customer', 1), markup(4)]]),
          findings: [{ check: markup(5), outcome: 'flag', jurisdiction: markup(6), rule: markup(0), message: markup(1) }],
          details: { withheld: [{ table: markup(2), rows: 1, jurisdictions: [markup(3)] }], note: markup(4) },
        }),
      ),
    );

    server = createServer(rt.kh.broker.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  /** Signs in as the DPO, opens every planted record on every page of the log, and looks up a customer id made of markup. */
  async function visitEverything(context: BrowserContext) {
    const seen = { dialogs: [] as string[], errors: [] as string[], violations: [] as string[] };
    const page: Page = await context.newPage();
    page.on('dialog', (dialog) => {
      seen.dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => seen.errors.push(error.message));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { __violations: string[] }).__violations ??= [];
        (window as unknown as { __violations: string[] }).__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
    await page.goto(`${base}/officer`);
    await page.getByLabel('Officer token').fill(await rt.kh.token('dpo'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) > 0);
    // Every page of the log, every record planted or refused: opened (as a click on its row does), so its JSON is drawn.
    let shownAsText = 0;
    for (let more = true; more; ) {
      const opened = await page.evaluate(
        ({ codes, payloads }) => {
          // Columns found by their headings, so a column added to the log cannot make this visit open nothing.
          const headings = [...document.querySelectorAll('#log-table thead th')].map((th) => th.textContent);
          const [caller, code] = [headings.indexOf('Caller'), headings.indexOf('Code')];
          return [...document.querySelectorAll<HTMLTableRowElement>('#log-table tbody tr')]
            .filter(
              (row) =>
                codes.includes(row.cells[code]?.textContent ?? '') || payloads.some((payload) => (row.cells[caller]?.textContent ?? '').includes(payload)),
            )
            .map((row) => {
              row.click();
              const json = document.getElementById('record-json')!.textContent ?? '';
              (document.getElementById('record-dialog') as HTMLDialogElement).close();
              return json;
            });
        },
        { codes: [...PLANTED_CODES], payloads: [...PAYLOADS] },
      );
      shownAsText += opened.filter((json) => PAYLOADS.some((payload) => json.includes(JSON.stringify(payload).slice(1, -1)))).length;
      more = !(await page.locator('#page-next').isDisabled());
      if (more) {
        const loaded = Number(await page.evaluate(() => document.body.dataset.loaded));
        await page.locator('#page-next').click();
        await page.waitForFunction((n) => Number(document.body.dataset.loaded) > n, loaded);
      }
    }
    await page.locator('#seen-id').fill(PAYLOADS[1]);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.waitForFunction(() => document.getElementById('seen-result')!.childElementCount > 0 || !document.getElementById('error')!.hidden);
    const state = await page.evaluate(
      (selector) => ({
        xss: (window as unknown as { __xss?: number }).__xss ?? null,
        injected: [...document.querySelectorAll(selector)].map((element) => element.outerHTML.slice(0, 120)),
        violations: (window as unknown as { __violations?: string[] }).__violations ?? [],
        text: document.body.textContent ?? '',
      }),
      INJECTED,
    );
    await page.close();
    return { ...seen, ...state, shownAsText };
  }

  it('shows every planted value as text and runs none of it, with the CSP bypassed', async () => {
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1360, height: 900 } });
    try {
      const visit = await visitEverything(context);
      expect(visit.dialogs).toEqual([]);
      expect(visit.xss).toBeNull();
      expect(visit.injected).toEqual([]);
      expect(visit.errors).toEqual([]);
      // The values were there to run: the records holding them were opened and read as text.
      expect(visit.shownAsText).toBeGreaterThanOrEqual(PAYLOADS.length * 2);
      expect(visit.text).toContain(PAYLOADS[0]);
    } finally {
      await context.close();
    }
  });

  it('gives the enforced Content-Security-Policy nothing to block', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const visit = await visitEverything(context);
      expect(visit.violations).toEqual([]);
      expect(visit.dialogs).toEqual([]);
      expect(visit.xss).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('kept serving agents while the dashboard read the planted records', async () => {
    await rt.bystanderServed('support-bot');
    await rt.bystanderServed('fraud-bot');
  });
});
