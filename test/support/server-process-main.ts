/**
 * The local server as a child process of a test, steered over IPC:
 * - `{ mode, delayMs? }` sets the store fault and is answered `{ mode }`; the store sits behind a
 *   fault-injecting proxy when HASHCHECK_TEST_FAULT_PROXY is `1`;
 * - `{ memory: true }` collects garbage (with `--expose-gc`) and is answered `{ memory }`, the process's
 *   memory usage then.
 * Prints `listening on URL` once ready, as `npm start` does. Environment: HASHCHECK_DATA_DIR.
 */
import { startLocalServer } from '../../local/server.js';
import type { FaultMode } from './faulty-dynamodb.js';
import { putStoreBehindProxy, type StoreBehindProxy } from './fault-proxy-server.js';

type Message = { mode: FaultMode; delayMs?: number } | { memory: true };

const dataDir = process.env['HASHCHECK_DATA_DIR'];
if (!dataDir) throw new Error('HASHCHECK_DATA_DIR is not set');

const server = await startLocalServer({ dataDir, port: 0, keys: { apiKeys: [] }, allowedHosts: [] });
const faults: StoreBehindProxy | undefined =
  process.env['HASHCHECK_TEST_FAULT_PROXY'] === '1' ? await putStoreBehindProxy(server, dataDir) : undefined;

process.on('message', (message: Message) => {
  if ('memory' in message) {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ memory: process.memoryUsage() });
    return;
  }
  if (!faults) throw new Error('No fault proxy: start with HASHCHECK_TEST_FAULT_PROXY=1');
  faults.proxy.mode = message.mode;
  faults.proxy.delayMs = message.delayMs ?? 0;
  process.send?.({ mode: message.mode });
});

const stop = () => {
  void (faults?.close() ?? Promise.resolve())
    .then(() => server.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent going away (a test run stopped) ends the child too.
process.on('disconnect', stop);

console.log(`hashcheck is listening on ${server.url}`);
console.log(`known-bad records: ${server.knownRecords}`);
