import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendantsOf, npmStart, type Started } from '../support/npm-start.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Not part of what a checkout's sources are: installed packages, git's own data, build output, local data. */
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', 'cdk.out', '.hashcheck', 'coverage', 'test-results', 'bench-results']);
const BUILDING = 'hashcheck: building the local server';
/** The built server in the copy. */
const BUNDLE = () => join(checkout, 'dist', 'local-server.mjs');

/**
 * A copy of the checkout, with no build yet and the installed packages linked in: the tests edit its
 * sources, never the checkout's.
 */
let checkout: string;
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'hashcheck-start-build-'));
  checkout = join(scratch, 'checkout');
  for (const entry of readdirSync(ROOT)) {
    if (!NOT_COPIED.has(entry)) cpSync(join(ROOT, entry), join(checkout, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts `npm start` in the copy, on a free port, with data in a folder of its own. */
function start(dataDir = 'data'): Promise<Started> {
  return npmStart(checkout, { PORT: '0', HASHCHECK_DATA_DIR: join(scratch, dataDir) });
}

async function stop(started: Started): Promise<void> {
  started.child.kill('SIGTERM');
  expect(await started.exited).toBe(0);
}

describe('npm start runs the built server', () => {
  it('builds the server on the first start, then runs it as the one process under npm, with neither tsx nor esbuild', async () => {
    expect(existsSync(join(checkout, 'dist'))).toBe(false);
    const started = await start();
    try {
      expect(started.output()).toContain(`${BUILDING} (it is not built yet)`);
      // npm runs the script through a shell that hands its place to node (`exec`): one process under npm.
      const commands = descendantsOf(started.child.pid!).map((entry) => entry.argv.join(' '));
      expect(commands).toEqual([expect.stringMatching(/^(\S*\/)?node bin\/start\.mjs$/)]);
      for (const command of commands) expect(command).not.toMatch(/tsx|esbuild/);
      // The seed list is found from the bundle's location, and the page is the one built beside it.
      const lookup = await fetch(`${started.url}/v1/hashes/44d88612fea8a8f36de82e1278abb02f`);
      expect(((await lookup.json()) as { verdict: string }).verdict).toBe('malicious');
      const page = await fetch(`${started.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(checkout, 'dist', 'local-web', 'index.html'), 'utf8'));
    } finally {
      await stop(started);
    }
  });

  it('starts without building when nothing it is built from changed', async () => {
    // A file the server is not built from changes nothing either.
    appendFileSync(join(checkout, 'README.md'), '\nA line the server never reads.\n');
    const built = statSync(BUNDLE()).mtimeMs;
    const started = await start();
    await stop(started);
    expect(started.output()).not.toContain(BUILDING);
    expect(statSync(BUNDLE()).mtimeMs).toBe(built);
  });

  it('builds again when a source of the server changed, and runs the change', async () => {
    appendFileSync(join(checkout, 'bin', 'local-server.ts'), "\nconsole.log('a line added to the server after its last build');\n");
    const started = await start();
    await stop(started);
    expect(started.output()).toContain(`${BUILDING} (its sources changed since the last build)`);
    expect(started.stdout()).toContain('a line added to the server after its last build');

    const again = await start();
    await stop(again);
    expect(again.output()).not.toContain(BUILDING);
  });

  it('builds again when a source changed its time alone, even to an older one, as a copy keeping times does', async () => {
    const source = join(checkout, 'lambdas', 'core', 'hashes.ts');
    utimesSync(source, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    const started = await start();
    await stop(started);
    expect(started.output()).toContain(BUILDING);
  });

  it('builds the web form again when its page changed, and serves the new page', async () => {
    const index = join(checkout, 'web', 'index.html');
    writeFileSync(index, readFileSync(index, 'utf8').replace('<title>', '<title>Edited: '));
    const started = await start();
    try {
      expect(started.output()).toContain(BUILDING);
      expect(await (await fetch(`${started.url}/`)).text()).toContain('<title>Edited: ');
    } finally {
      await stop(started);
    }
  });
});
