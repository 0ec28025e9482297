/**
 * The local server as a child process of a test, with its store behind a fault-injecting proxy that the
 * parent steers over IPC: `{ mode, delayMs? }` sets the fault and is answered `{ mode }`. Prints
 * `listening on URL` once ready, as `npm start` does. Environment: HASHCHECK_DATA_DIR.
 */
import { startLocalServer } from '../../local/server.js';
import type { FaultMode } from './faulty-dynamodb.js';
import { putStoreBehindProxy } from './fault-proxy-server.js';

const dataDir = process.env['HASHCHECK_DATA_DIR'];
if (!dataDir) throw new Error('HASHCHECK_DATA_DIR is not set');

const server = await startLocalServer({ dataDir, port: 0, keys: { apiKeys: [] } });
const faults = await putStoreBehindProxy(server, dataDir);

process.on('message', (message: { mode: FaultMode; delayMs?: number }) => {
  faults.proxy.mode = message.mode;
  faults.proxy.delayMs = message.delayMs ?? 0;
  process.send?.({ mode: message.mode });
});

const stop = () => {
  void faults
    .close()
    .then(() => server.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent going away (a test run stopped) ends the child too.
process.on('disconnect', stop);

console.log(`hashcheck is listening on ${server.url}`);
console.log(`known-bad records: ${server.knownRecords}`);
