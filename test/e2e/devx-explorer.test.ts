import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explorerEnabled } from '../../src/http/explorer.ts';
import { createPgliteTestDatabase, type TestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { CHROMIUM } from '../support/browser.ts';

describe('the query explorer switch', () => {
  it('is on by default, off under NODE_ENV=production, and KEYHOLE_EXPLORER decides either way', () => {
    expect(explorerEnabled({})).toBe(true);
    expect(explorerEnabled({ NODE_ENV: 'production' })).toBe(false);
    expect(explorerEnabled({ NODE_ENV: 'production', KEYHOLE_EXPLORER: 'on' })).toBe(true);
    expect(explorerEnabled({ KEYHOLE_EXPLORER: 'off' })).toBe(false);
    expect(() => explorerEnabled({ KEYHOLE_EXPLORER: 'yes' })).toThrow('KEYHOLE_EXPLORER: expected on or off, got "yes"');
  });
});

describe('the query explorer at /explorer', () => {
  let t: TestDatabase;
  let kh: TestBroker;
  let production: TestBroker;
  let server: Server;
  let base: string;
  let browser: Browser | undefined;
  beforeAll(async () => {
    t = await createPgliteTestDatabase();
    await loadWorld(t.db);
    kh = await startTestBroker(t.db);
    production = await startTestBroker(t.db, { env: { KEYHOLE_EXPLORER: 'off' } });
    server = createServer(kh.broker.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await production?.close();
    await kh?.close();
    await t?.drop();
  });

  it('serves its page under a policy that runs only its own scripts and talks only to this server', async () => {
    const response = await fetch(`${base}/explorer`);
    expect(response.status).toBe(200);
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toMatch(/^default-src 'none'; script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+; /);
    expect(policy).toContain("connect-src 'self'");
    expect(await response.text()).toContain('/explorer/static/ruru.js');
    expect((await fetch(`${base}/explorer/static/ruru.js`)).status).toBe(200);
  });

  it('is not served when switched off', async () => {
    const response = await production.broker.fetch(new Request('http://keyhole.local/explorer'));
    expect(response.status).toBe(404);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'sends a query with a pasted token to /graphql and shows the answer',
    async () => {
      const token = await kh.token('support-bot');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      // Before a token is pasted, its schema request is refused (401): any other failure is a problem.
      page.on('response', (response) => {
        if (response.status() >= 400 && !(response.status() === 401 && response.url() === `${base}/graphql`)) {
          problems.push(`${response.status()} ${response.url()}`);
        }
      });
      await page.route('**/*', (route) => {
        if (route.request().url().startsWith(base)) return route.continue();
        problems.push(`external request: ${route.request().url()}`);
        return route.abort();
      });
      await page.goto(`${base}/explorer`);
      // The developer opens the headers editor, replaces the hint with a token, and runs the query the page starts with.
      await page.getByText('Headers', { exact: true }).click({ timeout: 30_000 });
      await page.locator('section[aria-label="Headers"] .graphiql-editor:not(.hidden)').click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.insertText(JSON.stringify({ authorization: `Bearer ${token}` }));
      // The editor closed the brace and quote it opened: what it added after the pasted text goes.
      await page.keyboard.press('Shift+End');
      await page.keyboard.press('Delete');
      // The headers editor hands its text on after a short debounce: the query is run until it leaves with the token.
      let sentWithToken = false;
      page.on('request', (request) => {
        const query = /viewer \{ agent purpose/.test(request.postData() ?? '');
        if (request.url() === `${base}/graphql` && query && request.headers().authorization === `Bearer ${token}`) sentWithToken = true;
      });
      await expect
        .poll(
          async () => {
            await page.locator('.graphiql-execute-button').click();
            await page.waitForTimeout(500);
            return sentWithToken;
          },
          { timeout: 15_000 },
        )
        .toBe(true);
      // The editor shows spaces as no-break spaces.
      await expect
        .poll(async () => ((await page.locator('.result-window').textContent()) ?? '').replace(/\s+/g, ' '), { timeout: 15_000 })
        .toContain('"agent": "support-bot"');
      expect(problems).toEqual([]);
    },
    90_000,
  );
});
