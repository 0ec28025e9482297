import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Chromium from the system's packages (Debian: `apt-get install chromium`), never a browser downloaded by
 * a test tool: the machines these tests run on reach no browser download site. `CHROMIUM_PATH` overrides.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium to drive, or `undefined` when the machine has none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env['CHROMIUM_PATH'];
  if (override) return existsSync(override) ? override : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

/** CI must run the browser tests: there a missing Chromium is a failure, not a skip. */
export const IN_CI = process.env['CI'] === 'true';

/**
 * Headless flags for a closed network: without the background-networking flags Chromium floods it with
 * connection attempts (updates, sync, field trials). No sandbox: CI runs as root in a container.
 */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-default-apps',
];

/** Launches headless Chromium; playwright gives each launch a fresh, temporary user-data-dir. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error(
      'No Chromium found (looked at CHROMIUM_PATH and ' +
        `${CANDIDATES.join(', ')}). CI runs the browser tests: install it with 'apt-get install chromium'.`,
    );
  }
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
}

/** The title of a browser test suite, saying so when it is skipped and why. */
export function suiteTitle(name: string): string {
  if (findChromium() || IN_CI) return name;
  return `${name} (skipped: no Chromium on this machine; apt-get install chromium to run them)`;
}

/** Whether the browser tests run here: always in CI (where a missing Chromium then fails them). */
export const RUN_BROWSER_TESTS = IN_CI || findChromium() !== undefined;

if (!RUN_BROWSER_TESTS) {
  process.stderr.write('web form browser tests SKIPPED: no Chromium found; install it with `apt-get install chromium`\n');
}

const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/web-form/', import.meta.url));

/** Saves a full-page screenshot under `test-results/web-form/` (git-ignored) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Collects what the page should never produce: script errors, console errors (CSP violations show up
 * there) and requests that failed. Tests assert the list is empty, so nothing fails silently.
 */
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return problems;
}
