#!/usr/bin/env node
// The `hashcheck` executable (package.json "bin"). It runs the bundled command line, `dist/hashcheck.mjs`:
// one JavaScript file with everything inside, so it starts about as fast as node itself. An installed
// package ships the bundle (built before `npm pack`). In a checkout the bundle is built at `npm install`
// and built again here, on the first run after a source changed; build output is never committed.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/hashcheck.mjs', import.meta.url);
// The sources are in a checkout only: an installed package runs its bundle as it is.
if (existsSync(new URL('./hashcheck.ts', import.meta.url))) {
  const { bundleIsStale, buildCli } = await import('./build-cli.mjs');
  if (bundleIsStale()) {
    try {
      await buildCli();
    } catch (error) {
      process.stderr.write(`hashcheck: cannot build the command line (${error?.message ?? error}); run npm install, or node bin/build-cli.mjs\n`);
      process.exit(2);
    }
  }
}
await import(bundle.href);
