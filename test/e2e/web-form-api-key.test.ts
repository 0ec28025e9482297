import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { expectNoWcagViolations } from './accessibility.js';
import { RUN_BROWSER_TESTS, launchChromium, screenshot, suiteTitle, watchForProblems } from './browser.js';

const KEY = 'web-form-test-key';
const MSI_MD5 = 'f3d4144860ca10ba60f7ef4d176cc736';

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;

describe.skipIf(!RUN_BROWSER_TESTS)(suiteTitle('the web form against a service that requires API keys'), () => {
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ apiKeys: [KEY] }), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('asks for a key when refused, keeps it for the tab, sends it as x-api-key and finishes the check, meeting WCAG 2.1 A and AA', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page: Page = await context.newPage();
    const problems = watchForProblems(page);
    const keysSent: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/v1/hashes/lookup')) keysSent.push(request.headers()['x-api-key']);
    });
    await page.goto(server.webFormUrl);
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.locator('#api-key-section').isHidden()).toBe(true);

    await page.fill('#hash-input', MSI_MD5);
    await page.getByRole('button', { name: 'Check hashes' }).click();
    await page.locator('#api-key-section').waitFor();
    expect(await page.locator('#hash-results [role="alert"]').textContent()).toContain('This service needs an API key.');
    // Focus is on the key field: the next keystrokes go there.
    expect(await page.evaluate('document.activeElement.id')).toBe('api-key');
    await screenshot(page, '5-api-key-requested');
    await expectNoWcagViolations(page, 'the API key asked for');

    await page.keyboard.type(KEY);
    await page.keyboard.press('Enter');
    await page.locator('.results-heading').waitFor();
    expect(await page.locator('.summary').textContent()).toBe('Checked 1 hash: 1 malicious, 0 not on the list, 0 invalid.');
    expect(keysSent).toEqual([undefined, KEY]);
    expect(await page.evaluate("sessionStorage.getItem('hashcheck.apiKey')")).toBe(KEY);
    // The key never sits in the field, where it could be shoulder-surfed or autofilled elsewhere.
    expect(await page.inputValue('#api-key')).toBe('');
    await screenshot(page, '6-api-key-accepted');
    await expectNoWcagViolations(page, 'the API key saved');

    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await context.close();
  });
});
