/**
 * The local server as a child process of a test, steered over IPC:
 * - `{ mode }` sets the store fault (see StoreFault) and is answered `{ mode }`;
 * - `{ memory: true }` collects garbage (with `--expose-gc`) and is answered `{ memory }`, the process's
 *   memory usage then.
 * Runs on the embedded store of HASHCHECK_DATA_DIR behind a fault switch. Prints `listening on URL` once
 * ready, as `npm start` does.
 */
import { openEmbeddedStore } from '../../local/embedded-store.js';
import { startLocalServer } from '../../local/server.js';
import { faultyStores, type StoreFault } from './faulty-store.js';

type Message = { mode: StoreFault } | { memory: true };

const dataDir = process.env['HASHCHECK_DATA_DIR'];
if (!dataDir) throw new Error('HASHCHECK_DATA_DIR is not set');

const store = await openEmbeddedStore(dataDir);
const { stores, faults } = faultyStores(store);
const server = await startLocalServer({ dataDir, stores, port: 0, keys: { apiKeys: [] }, allowedHosts: [] });

process.on('message', (message: Message) => {
  if ('memory' in message) {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ memory: process.memoryUsage() });
    return;
  }
  faults.mode = message.mode;
  process.send?.({ mode: message.mode });
});

const stop = () => {
  void server
    .close()
    .then(() => store.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent going away (a test run stopped) ends the child too.
process.on('disconnect', stop);

console.log(`hashcheck is listening on ${server.url}`);
console.log(`known-bad records: ${server.knownRecords}`);
