import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startTestServer } from '../support/local-server.js';

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

/** What a web form test works with: the service, the browser, and a fresh page per test. */
export interface WebFormSession {
  readonly server: Awaited<ReturnType<typeof startTestServer>>;
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and failed requests of the page, as `watchForProblems` records them. */
  readonly problems: string[];
  /** A folder of the test's own for files the page picks, deleted at the end. */
  readonly tmp: string;
}

/**
 * Registers the hooks every web form suite needs: the local server and Chromium for the suite, a new context
 * and page on the web form for each test. `use` receives the session each time it changes.
 */
export function useWebFormPage(tmpPrefix: string, use: (session: WebFormSession) => void): void {
  const session = {} as { -readonly [K in keyof WebFormSession]: WebFormSession[K] };
  beforeAll(async () => {
    session.tmp = mkdtempSync(join(tmpdir(), tmpPrefix));
    [session.server, session.browser] = await Promise.all([startTestServer(), launchChromium()]);
    use({ ...session });
  });

  afterAll(async () => {
    await session.browser?.close();
    await session.server?.stop();
    if (session.tmp) rmSync(session.tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    session.context = await session.browser.newContext({ viewport: { width: 1100, height: 900 } });
    session.page = await session.context.newPage();
    session.problems = watchForProblems(session.page);
    use({ ...session });
    await session.page.goto(session.server.webFormUrl);
    await session.page.locator('body[data-ready="true"]').waitFor();
  });

  afterEach(async () => {
    await session.context.close();
  });
}
