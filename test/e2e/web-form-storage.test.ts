import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { expectNoWcagViolations } from './accessibility.js';
import { RUN_BROWSER_TESTS, screenshot, suiteTitle, useWebFormPage } from './browser.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let tmp: string;

/** A file large enough (over the 4 MiB of `POST /v1/files`) to go through an upload URL, under `name`. */
function largeFile(name: string): string {
  const path = join(tmp, name);
  writeFileSync(path, randomBytes(4 * 1024 * 1024 + 100));
  return path;
}

/** The text of the problem a file's card shows, once it shows one. */
async function problemOf(fileName: string): Promise<string> {
  const card = page.locator(`article.card[data-file-name="${fileName}"]`);
  await card.locator('.notice-error').waitFor();
  expect(await card.getByRole('button', { name: 'Try again' }).count()).toBe(1);
  return (await card.locator('.notice-error p').textContent()) ?? '';
}

/** Answers the page's uploads to storage with `answers`, in turn, without reaching the server. */
async function storageAnswers(answers: { status: number; contentType: string; body: string }[]): Promise<void> {
  await page.route(`${server.url}/uploads/**`, async (route: Route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const answer = answers.shift();
    if (!answer) return route.abort();
    await route.fulfill({ status: answer.status, contentType: answer.contentType, body: answer.body });
  });
}

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>`;
const jsonError = (code: string, message: string) => JSON.stringify({ error: { code, message, requestId: '0f0e0d0c-0b0a-4908-8706-050403020100' } });

describe.skipIf(!RUN_BROWSER_TESTS)(suiteTitle('the web form when storage refuses a file, in Chromium'), () => {
  useWebFormPage('hashcheck-web-storage-', (session) => ({ server, browser, context, page, problems, tmp } = session));

  it("shows the server's own words when its upload URL refuses the file, meeting WCAG 2.1 A and AA", async () => {
    // The upload URL the page is given is changed on its way, so the server refuses it as not its own.
    await page.route(`${server.url}/v1/uploads`, async (route: Route) => {
      const response = await route.fetch();
      const created = await response.json();
      created.post.url = created.post.url.replace(/signature=([0-9a-f])/, (_all: string, first: string) => `signature=${first === 'a' ? 'b' : 'a'}`);
      await route.fulfill({ response, json: created });
    });
    await page.setInputFiles('#file-input', largeFile('changed-link.bin'));
    expect(await problemOf('changed-link.bin')).toBe(
      'Storage refused the file: The upload URL is not signed by this server, or was changed: use the URL POST /v1/uploads answered, whole. Try again.',
    );
    await screenshot(page, 'storage-refused');
    await expectNoWcagViolations(page, 'a file refused by storage');
    // The browser logs the 403 it received; anything else would be a fault of the page.
    expect(problems.filter((p) => !/status of 403/.test(p))).toEqual([]);
  });

  it("names an expired link and a file larger than announced, from S3's XML and from the service's JSON", async () => {
    await storageAnswers([
      { status: 403, contentType: 'application/xml', body: s3Error('AccessDenied', 'Request has expired') },
      { status: 403, contentType: 'application/json', body: jsonError('unauthorized', 'The upload URL has expired. Ask POST /v1/uploads for a new one.') },
      { status: 400, contentType: 'application/xml', body: s3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size') },
      { status: 413, contentType: 'application/json', body: jsonError('payload_too_large', 'The body is longer than the 4194404 bytes declared.') },
      { status: 403, contentType: 'application/xml', body: s3Error('AccessDenied', 'Invalid according to Policy: Policy Condition failed: [&quot;eq&quot;, &quot;$key&quot;]') },
    ]);
    const expired = 'The upload link expired before the file was sent. Try again.';
    const larger = 'The file is larger than announced; it may have changed while it was being sent. Try again.';
    const expected: [string, string][] = [
      ['expired-s3.bin', expired],
      ['expired-local.bin', expired],
      ['larger-s3.bin', larger],
      ['larger-local.bin', larger],
      ['policy-s3.bin', 'Storage refused the file: Invalid according to Policy: Policy Condition failed: ["eq", "$key"]. Try again.'],
    ];
    // One at a time, so that each answer goes to its own file.
    for (const [name, message] of expected) {
      await page.setInputFiles('#file-input', largeFile(name));
      expect(await problemOf(name), name).toBe(message);
    }
    expect(problems.filter((p) => !/status of 40[03]|status of 413/.test(p))).toEqual([]);
  });
});
