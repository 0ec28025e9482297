#!/usr/bin/env node
// `npm start`: runs the local server built into `dist/local-server.mjs`, in this process: one `node` for the
// whole service. `npm install` builds it (`prepare`); when a source it was built from changed since (or there
// is no build yet), it is built again first, in a process of its own that ends before the server starts, so
// the bundler is gone by the time the server runs. Build output is never committed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { SERVER_BUNDLE, serverIsStale } from './build-server.mjs';

if (serverIsStale()) {
  const why = existsSync(SERVER_BUNDLE) ? 'its sources changed since the last build' : 'it is not built yet';
  process.stderr.write(`hashcheck: building the local server (${why})\n`);
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('./build-server.mjs', import.meta.url)), '--force', '--quiet'], {
    stdio: 'inherit',
  });
  // The build has said why it failed.
  if (build.status !== 0) process.exit(1);
}
await import(pathToFileURL(SERVER_BUNDLE).href);
