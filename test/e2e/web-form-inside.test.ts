import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { EICAR, fatVolumeOf, hasTool, udifOf, zipOf } from '../support/archives.js';
import { expectNoWcagViolations } from './accessibility.js';
import { RUN_BROWSER_TESTS, screenshot, suiteTitle, useWebFormPage } from './browser.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let tmp: string;

/** The card of one file. */
function card(fileName: string) {
  return page.locator(`article.card[data-file-name="${fileName}"]`);
}

/** Writes an archive built by Info-ZIP `zip` where the page can pick it. */
function archive(name: string, bytes: Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

describe.skipIf(!RUN_BROWSER_TESTS)(suiteTitle('the web form in Chromium, looking inside archives'), () => {
  useWebFormPage('hashcheck-web-inside-', (session) => ({ server, browser, context, page, problems, tmp } = session));

  it('shows a ZIP holding EICAR in a ZIP as malicious, naming the member by its path chain and its match, meeting WCAG 2.1 A and AA', async () => {
    const inner = zipOf({ 'bin/eicar.com': EICAR });
    const path = archive('tools.zip', zipOf({ 'tools.zip': inner, 'readme.txt': 'Read me first.\n' }));
    await page.setInputFiles('#file-input', path);

    const result = card('tools.zip');
    await result.locator('.verdict-malicious').waitFor();
    expect(await result.locator('.verdict-title').textContent()).toBe('Malicious: a file inside it is on the known-bad list');
    const member = result.locator('.inside-matches .member-match');
    expect(await member.count()).toBe(1);
    expect(await member.locator('.member-path').textContent()).toBe('Inside: tools.zip → bin/eicar.com');
    expect(await member.locator('code.member-sha256').textContent()).toBe('275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f');
    const details = Object.fromEntries(
      await member.locator('.details .detail').evaluateAll((rows) =>
        rows.map((row) => [row.querySelector('dt')!.textContent, row.querySelector('dd')!.textContent]),
      ),
    );
    expect(details).toMatchObject({ 'File name': 'eicar.com', Campaign: 'EICAR anti-malware test file' });
    expect(await result.locator('.inside-count').textContent()).toBe('3 files inside checked.');
    expect(await result.locator('.inside-incomplete').count()).toBe(0);
    await page
      .locator('#announcer', { hasText: 'tools.zip: malicious, tools.zip → bin/eicar.com inside it is on the known-bad list.' })
      .waitFor({ state: 'attached' });

    await screenshot(page, 'inside-1-member-malicious');
    await expectNoWcagViolations(page, 'a file malicious through a member');
    expect(problems).toEqual([]);
  });

  it.skipIf(!(hasTool('mkfs.fat') && hasTool('mcopy')))(
    'shows a disk image built like the 3CX macOS installer as malicious, naming libffmpeg.dylib at its app-bundle path, meeting WCAG 2.1 A and AA',
    async () => {
      // The trojanized 18.12.402/407 DMGs have no published hash; what gives them away is the library inside.
      const dylib = '3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib';
      const dmg = udifOf(fatVolumeOf({ [dylib]: EICAR, '3CX Desktop App.app/Contents/Info.plist': '<plist/>' }));
      await page.setInputFiles('#file-input', archive('3CXDesktopApp-18.12.416.dmg', dmg));

      const result = card('3CXDesktopApp-18.12.416.dmg');
      await result.locator('.verdict-malicious').waitFor();
      expect(await result.locator('.verdict-title').textContent()).toBe('Malicious: a file inside it is on the known-bad list');
      const member = result.locator('.inside-matches .member-match');
      expect(await member.count()).toBe(1);
      expect(await member.locator('.member-path').textContent()).toBe(`Inside: ${dylib}`);
      expect(await result.locator('.inside-incomplete').count()).toBe(0);

      await screenshot(page, 'inside-3cx-disk-image');
      await expectNoWcagViolations(page, 'a 3CX-shaped disk image malicious through its library');
      expect(problems).toEqual([]);
    },
  );

  it('shows an encrypted ZIP as could not be fully checked, naming encrypted and where, not as a plain unknown, meeting WCAG 2.1 A and AA', async () => {
    const path = archive('locked.zip', zipOf({ 'payroll.xlsx': 'quarterly figures\n' }, { password: 'hunter2' }));
    await page.setInputFiles('#file-input', path);

    const result = card('locked.zip');
    await result.locator('.verdict-incomplete').waitFor();
    expect(await result.getAttribute('class')).toContain('card-incomplete');
    expect(await result.locator('.verdict-unknown').count()).toBe(0);
    expect(await result.locator('.verdict-title').textContent()).toBe('Could not be fully checked');
    expect(await result.textContent()).not.toContain('Not on the known-bad list');
    const reason = result.locator('.inside-reasons li[data-reason="encrypted"]');
    expect(await reason.count()).toBeGreaterThan(0);
    const words = await reason.first().textContent();
    expect(words).toContain('encrypted (protected by a password)');
    expect(words).toContain('(encrypted)');
    await page
      .locator('#announcer', { hasText: 'locked.zip: could not be fully checked; nothing read so far is on the known-bad list.' })
      .waitFor({ state: 'attached' });

    await screenshot(page, 'inside-2-encrypted-incomplete');
    await expectNoWcagViolations(page, 'a file that could not be fully checked');
    expect(problems).toEqual([]);
  });

  it('keeps a member match malicious when another member could not be read, and says what could not be read, meeting WCAG 2.1 A and AA', async () => {
    const locked = zipOf({ 'notes.txt': 'private\n' }, { password: 'hunter2' });
    const path = archive('mixed.zip', zipOf({ 'eicar.com': EICAR, 'locked.zip': locked }));
    await page.setInputFiles('#file-input', path);

    const result = card('mixed.zip');
    await result.locator('.verdict-malicious').waitFor();
    expect(await result.getAttribute('class')).toContain('card-incomplete');
    expect(await result.locator('.inside-matches .member-path').textContent()).toBe('Inside: eicar.com');
    const reason = result.locator('.inside-reasons li[data-reason="encrypted"]');
    expect(await reason.first().textContent()).toContain('locked.zip');

    await expectNoWcagViolations(page, 'a malicious file also not fully checked');
    expect(problems).toEqual([]);
  });

  it('shows a clean ZIP as not on the list with the count of files inside checked, meeting WCAG 2.1 A and AA', async () => {
    const path = archive(
      'installer.zip',
      zipOf({ 'app/setup.exe': 'MZ not really a program\n', 'app/license.txt': 'MIT\n', 'app/data/strings.json': '{}\n' }),
    );
    await page.setInputFiles('#file-input', path);

    const result = card('installer.zip');
    await result.locator('.verdict-unknown').waitFor();
    expect(await result.locator('.verdict-title').textContent()).toBe('Not on the known-bad list');
    expect(await result.locator('.verdict-incomplete').count()).toBe(0);
    expect(await result.locator('.inside-incomplete').count()).toBe(0);
    expect(await result.locator('.inside-matches').count()).toBe(0);
    expect(await result.locator('.inside-count').textContent()).toBe('3 files inside checked.');
    await page
      .locator('#announcer', { hasText: 'installer.zip: not on the known-bad list, 3 files inside checked.' })
      .waitFor({ state: 'attached' });

    await screenshot(page, 'inside-3-clean-archive');
    await expectNoWcagViolations(page, 'an archive not on the list, its files inside counted');
    expect(problems).toEqual([]);
  });
});
