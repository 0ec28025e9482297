import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SEED_FILE } from '../../local/server.js';
import { startTestServer } from '../support/local-server.js';
import { EICAR } from '../support/reference.js';
import { expectNoWcagViolations } from './accessibility.js';
import { RUN_BROWSER_TESTS, screenshot, suiteTitle, useWebFormPage } from './browser.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let tmp: string;

function openssl(algorithm: string, path: string): string {
  return execFileSync('openssl', ['dgst', `-${algorithm}`, '-r', path], { encoding: 'utf8' }).split(' ')[0]!;
}

/** The card of one file, once it shows a verdict or a problem. */
function card(fileName: string) {
  return page.locator(`article.card[data-file-name="${fileName}"]`);
}

describe.skipIf(!RUN_BROWSER_TESTS)(suiteTitle('the web form in Chromium'), () => {
  useWebFormPage('hashcheck-web-', (session) => ({ server, browser, context, page, problems, tmp } = session));

  it('meets WCAG 2.1 A and AA before anything is checked', async () => {
    await expectNoWcagViolations(page, 'empty');
    expect(problems).toEqual([]);
  });

  it('shows the EICAR file as malicious, with what matched, its size and its digests, meeting WCAG 2.1 A and AA', async () => {
    const path = join(tmp, 'eicar.com');
    writeFileSync(path, EICAR);
    await page.setInputFiles('#file-input', path);

    const result = card('eicar.com');
    await result.locator('.verdict-malicious').waitFor();
    expect(await result.getAttribute('class')).toContain('card-malicious');
    expect(await result.locator('.verdict-title').textContent()).toBe('Malicious: this file is on the known-bad list');
    expect(await result.locator('.card-size').textContent()).toBe('68 bytes');
    const details = Object.fromEntries(
      await result.locator('.details .detail').evaluateAll((rows) =>
        rows.map((row) => [row.querySelector('dt')!.textContent, row.querySelector('dd')!.textContent]),
      ),
    );
    expect(details).toMatchObject({
      'File name': 'eicar.com',
      Version: 'n/a',
      Kind: 'test-file',
      Campaign: 'EICAR anti-malware test file',
    });
    const link = result.locator('.sources a');
    expect(await link.getAttribute('href')).toBe('https://www.eicar.org/download-anti-malware-testfile/');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await result.locator('code.hash-sha256').textContent()).toBe('275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f');
    expect(await result.locator('code.hash-sha1').textContent()).toBe('3395856ce81f2b7382dee72602f798b642f14140');
    expect(await result.locator('code.hash-md5').textContent()).toBe('44d88612fea8a8f36de82e1278abb02f');
    expect(await result.getByRole('button', { name: 'Copy SHA-256 of eicar.com' }).count()).toBe(1);
    // Screen readers hear the verdict without hunting for the card.
    await page.locator('#announcer', { hasText: 'eicar.com: malicious, on the known-bad list.' }).waitFor({ state: 'attached' });

    await screenshot(page, '1-eicar-malicious');
    await expectNoWcagViolations(page, 'a malicious file verdict');
    expect(problems).toEqual([]);
  });

  it('sends a 50 MB file through the presigned upload with a progress bar, and reports it not on the list with openssl digests, meeting WCAG 2.1 A and AA', async () => {
    const path = join(tmp, 'big-random.bin');
    writeFileSync(path, randomBytes(50 * 1024 * 1024));
    const storagePosts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().startsWith(`${server.url}/uploads/`)) storagePosts.push(request.url());
    });
    // Records every status line the card shows, since a loopback upload can pass faster than a poll.
    // (Page scripts are strings here: the test compiles without the DOM library.)
    await page.evaluate(`
      window.stages = [];
      new MutationObserver(() => {
        for (const label of document.querySelectorAll('#file-results .status')) {
          if (window.stages.at(-1) !== label.textContent) window.stages.push(label.textContent);
        }
      }).observe(document.getElementById('file-results'), { subtree: true, childList: true, characterData: true });
    `);

    await page.setInputFiles('#file-input', path);
    const result = card('big-random.bin');
    await result.locator('.verdict-unknown').waitFor({ timeout: 45_000 });

    expect(await result.locator('.verdict-title').textContent()).toBe('Not on the known-bad list');
    expect(await result.textContent()).not.toMatch(/\bclean\b/i);
    expect(await result.locator('.verdict-advice').textContent()).toContain('does not make it safe');
    expect(await result.locator('.card-size').textContent()).toBe('50.0 MiB (52,428,800 bytes)');
    expect(await result.locator('code.hash-sha256').textContent()).toBe(openssl('sha256', path));
    expect(await result.locator('code.hash-sha1').textContent()).toBe(openssl('sha1', path));
    expect(await result.locator('code.hash-md5').textContent()).toBe(openssl('md5', path));
    // One form POST, to the server's own signed upload URL.
    expect(storagePosts).toEqual([expect.stringMatching(/\/uploads\/[0-9a-f-]{36}\?size=52428800&expires=\d+&signature=[0-9a-f]{64}$/)]);
    const stages = await page.evaluate<string[]>('window.stages');
    expect(stages.some((s) => /^Uploading: \d+% of 50\.0 MiB/.test(s))).toBe(true);
    expect(stages).toContain('Uploaded. Checking the file…');

    await screenshot(page, '2-large-file-unknown');
    await expectNoWcagViolations(page, 'a file not on the list');
    expect(problems).toEqual([]);
  });

  it('checks 1,000 pasted lines, with sha256sum output and invalid lines, and shows the table and counts, meeting WCAG 2.1 A and AA', async () => {
    const seed = readFileSync(SEED_FILE, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { sha256?: string; md5?: string; fileName: string });
    const known = seed.filter((r) => r.sha256).slice(0, 5);
    const invalidAt = new Map([
      [17, 'not-a-hash'],
      [250, 'abc123'],
      [251, 'z'.repeat(64)],
      [600, '0'.repeat(63)],
      [999, 'd41d8cd98f00b204e9800998ecf8427e0'],
    ]);
    const maliciousAt = new Map([
      [3, `${known[0]!.sha256}  ${known[0]!.fileName}`],
      [100, known[1]!.sha256!.toUpperCase()],
      [420, `${known[2]!.sha256} *downloads/${known[2]!.fileName}`],
      [777, `SHA256 (${known[3]!.fileName}) = ${known[3]!.sha256}`],
      [1000, known[4]!.md5 ?? known[4]!.sha256!],
    ]);
    const lines: string[] = [];
    for (let line = 1; line <= 1000; line++) {
      const size = [16, 20, 32][line % 3]!;
      lines.push(invalidAt.get(line) ?? maliciousAt.get(line) ?? `${randomBytes(size).toString('hex')}  file-${line}.bin`);
    }
    await page.fill('#hash-input', lines.join('\n'));
    await page.getByRole('button', { name: 'Check hashes' }).click();

    const heading = page.locator('.results-heading');
    await heading.waitFor();
    expect(await heading.textContent()).toBe('Results for 1,000 lines');
    // Focus moves to the results, so keyboard and screen-reader users land on them.
    expect(await page.evaluate("document.activeElement.classList.contains('results-heading')")).toBe(true);
    expect(await page.locator('.summary').textContent()).toBe('Checked 1,000 hashes: 5 malicious, 990 not on the list, 5 invalid.');
    const counts = Object.fromEntries(
      await page.locator('.count').evaluateAll((boxes) =>
        boxes.map((box) => [box.querySelector('.count-label')!.textContent, box.querySelector('.count-value')!.textContent]),
      ),
    );
    expect(counts).toEqual({ malicious: '5', 'not on the list': '990', invalid: '5' });
    expect(await page.locator('.invalid-lines li').allTextContents()).toEqual(
      [...invalidAt].map(([line, value]) => `Invalid hash on line ${line} (${value.length > 24 ? `${value.slice(0, 23)}…` : value})`),
    );
    expect(await page.locator('.results-table tbody tr').count()).toBe(1000);
    const maliciousLines = await page.locator('.results-table tr.row-malicious').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-line'))));
    expect(maliciousLines).toEqual([...maliciousAt.keys()]);
    const row420 = page.locator('.results-table tr[data-line="420"]');
    expect(await row420.locator('td').nth(1).textContent()).toBe(known[2]!.sha256);
    expect(await row420.textContent()).toContain(known[2]!.fileName);
    const row17 = page.locator('.results-table tr[data-line="17"]');
    expect(await row17.locator('.badge').textContent()).toBe('Invalid');
    expect(await row17.locator('.invalid-line').textContent()).toBe('Invalid hash on line 17');
    await expectNoWcagViolations(page, 'the hash table');

    await page.getByLabel('Show only malicious and invalid lines').check();
    await page.locator('.results-table tr.row-unknown').first().waitFor({ state: 'hidden' });
    await screenshot(page, '3-pasted-hashes');
    await expectNoWcagViolations(page, 'the hash table, filtered');
    expect(problems).toEqual([]);
  });

  it('asks for a hash when none is pasted, marking the field invalid, meeting WCAG 2.1 A and AA', async () => {
    await page.fill('#hash-input', '# only a comment\n\n');
    await page.getByRole('button', { name: 'Check hashes' }).click();
    const alert = page.locator('#hash-results [role="alert"]');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('Paste at least one hash first: one per line.');
    expect(await page.getAttribute('#hash-input', 'aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement.id')).toBe('hash-input');
    await expectNoWcagViolations(page, 'no hash pasted');
    expect(problems).toEqual([]);
  });

  it('says the service is unavailable when the list cannot be read, for files and for hashes, meeting WCAG 2.1 A and AA', async () => {
    const eicar = join(tmp, 'eicar-again.com');
    writeFileSync(eicar, EICAR);
    server.faults.mode = 'unavailable';
    try {
      await page.setInputFiles('#file-input', eicar);
      const result = card('eicar-again.com');
      await result.locator('.notice-error').waitFor();
      expect(await result.locator('.notice-error').textContent()).toContain('The service is unavailable right now. Try again in a moment.');
      expect(await result.getByRole('button', { name: 'Try again' }).count()).toBe(1);
      expect(await result.locator('.verdict').count()).toBe(0);

      await page.fill('#hash-input', '44d88612fea8a8f36de82e1278abb02f');
      await page.getByRole('button', { name: 'Check hashes' }).click();
      const alert = page.locator('#hash-results [role="alert"]');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('The service is unavailable right now. Try again in a moment.');
      await screenshot(page, '4-service-unavailable');
      await expectNoWcagViolations(page, 'the service unavailable');
    } finally {
      // The store comes back, so the page recovers without a reload.
      server.faults.mode = 'pass';
      await card('eicar-again.com').getByRole('button', { name: 'Try again' }).click();
      await card('eicar-again.com').locator('.verdict-malicious').waitFor();
    }
    // The browser logs each 503 it received; anything else would be a fault of the page.
    expect(problems.filter((p) => !/status of 503/.test(p))).toEqual([]);
  });
});
