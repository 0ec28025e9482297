#!/usr/bin/env node
/**
 * `npm start`: the whole service on this machine, one process and one port, its list in the embedded
 * store of the data folder, with the seed list loaded into an empty one.
 * Environment: PORT (default 3000; 0 picks a free port), HASHCHECK_DATA_DIR (default ./.hashcheck),
 * HASHCHECK_API_KEYS (comma-separated lookup keys; open when unset), HASHCHECK_ADMIN_KEY (admin routes),
 * HASHCHECK_ALLOWED_HOSTS (comma-separated further names, host or host:port, the server answers to).
 */
import { resolve } from 'node:path';
import { readAllowedHosts } from '../local/auth.js';
import { StoreInUseError } from '../local/embedded-store.js';
import { startLocalServer, type LocalServer } from '../local/server.js';

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`hashcheck: PORT must be a number from 0 to 65535, got '${raw}'`);
    process.exit(2);
  }
  return port;
}

const port = readPort(process.env['PORT']);
const dataDir = resolve(process.env['HASHCHECK_DATA_DIR'] || '.hashcheck');

let server: LocalServer | undefined;
let stopping = false;
/** Stops on the first signal; one that arrives during the start stops the server as soon as it is up. */
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received, shutting down`);
  if (server) void shutDown(server);
};
// Installed before anything is printed: a signal right after the ready line must find them in place.
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

function shutDown(running: LocalServer): Promise<never> {
  return running.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('hashcheck: shutdown failed:', error);
      process.exit(1);
    },
  );
}

let allowedHosts: string[];
try {
  allowedHosts = readAllowedHosts();
} catch (error) {
  console.error(`hashcheck: ${(error as Error).message}`);
  process.exit(2);
}

console.log(`hashcheck is starting; data in ${dataDir}`);
try {
  server = await startLocalServer({ port, dataDir, allowedHosts });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') console.error(`hashcheck: port ${port} is in use; set PORT to another port, or PORT=0 for a free one`);
  else if (error instanceof StoreInUseError) console.error(`hashcheck: ${error.message}`);
  else console.error('hashcheck: could not start:', error);
  process.exit(1);
}
if (stopping) await shutDown(server);
console.log(`hashcheck is listening on ${server.url}`);
console.log(
  `known-bad records: ${server.knownRecords}${server.seeded ? ' (seed list loaded into an empty data folder)' : ''}; data in ${dataDir}`,
);
console.log(
  server.keysRequired
    ? 'API keys: required (HASHCHECK_API_KEYS); send one in the x-api-key header'
    : 'API keys: none set, so the service is open to anyone who can reach it (set HASHCHECK_API_KEYS to require keys)',
);
console.log(`web form: open ${server.webFormUrl} to check files or paste hashes`);
console.log(`try: curl -s ${server.url}/v1/hashes/aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868`);
