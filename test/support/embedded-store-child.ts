/**
 * A second process using a data folder's embedded store, for the tests of what one server leaves another:
 * `hold DIR` opens the store and keeps it open; `import DIR` writes batches of records (see
 * `embeddedBatchRecord`) one `putRecords` call each, `import-records DIR` the same batches one import each
 * (`importRecords`, as an import request writes them), saying `begin N` before and `committed N` after each.
 * Each step is one line on stdout; `in-use` and the message when the store is taken.
 */
import { importRecords } from '../../lambdas/core/import.js';
import { openEmbeddedStore, StoreInUseError } from '../../local/embedded-store.js';
import { EMBEDDED_BATCH_SIZE, embeddedBatchRecord } from './embedded-records.js';

const [mode, dataDir] = process.argv.slice(2);
try {
  const store = await openEmbeddedStore(dataDir!);
  process.stdout.write('opened\n');
  if (mode === 'import' || mode === 'import-records') {
    const batches = Array.from({ length: 50 }, (_, b) => Array.from({ length: EMBEDDED_BATCH_SIZE }, (_, i) => embeddedBatchRecord(b, i)));
    for (const [b, records] of batches.entries()) {
      process.stdout.write(`begin ${b}\n`);
      if (mode === 'import') await store.hashes.putRecords(records);
      else await importRecords(records, { store: store.hashes, now: () => new Date() });
      process.stdout.write(`committed ${b}\n`);
    }
  }
  // Keeps the store open until the test kills this process.
  setInterval(() => {}, 60_000);
} catch (error) {
  process.stdout.write(error instanceof StoreInUseError ? `in-use ${error.message}\n` : `failed ${String(error)}\n`);
  process.exit(1);
}
