import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER } from '../../lib/hashcheck-function.js';

const entry = fileURLToPath(new URL('../support/failing-function.ts', import.meta.url));
let dir: string;

/** Bundles the entry as a function is deployed (ESM, minified, external source map) and runs it in a fresh node. */
async function runBundled(options: { sourceMap: boolean }): Promise<{ stack: string; location: string }> {
  const outfile = join(dir, options.sourceMap ? 'with-map/index.mjs' : 'without-map/index.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    sourcemap: options.sourceMap ? 'external' : false,
    sourcesContent: false,
    banner: { js: ESM_REQUIRE_BANNER },
    logLevel: 'silent',
  });
  // No --enable-source-maps, as deployed: the logger reads the map itself.
  const run = spawnSync(process.execPath, [outfile], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', POWERTOOLS_LOG_LEVEL: 'INFO' } });
  expect(run.status).toBe(0);
  // Powertools writes ERROR lines to stderr.
  const line = JSON.parse(run.stderr.trim().split('\n').at(-1)!) as { error: { stack: string; location: string } };
  return line.error;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hashcheck-source-maps-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the logger of a bundled function', () => {
  it('names the source file and line of an error from the bundle source map, read only when the error is logged', async () => {
    const throwLine = (await readFile(entry, 'utf8')).split('\n').findIndex((l) => l.includes('THROW-LINE')) + 1;
    const logged = await runBundled({ sourceMap: true });
    expect(logged.stack).toMatch(new RegExp(`failing-function\\.ts:${throwLine}:\\d+`));
    expect(logged.stack).not.toMatch(/index\.mjs:\d+:\d+/);
  });

  it('logs the stack as it is when the bundle has no source map', async () => {
    const logged = await runBundled({ sourceMap: false });
    expect(logged.stack).toMatch(/index\.mjs:\d+:\d+/);
    expect(logged.stack).toContain('the list could not be read');
  });
});
