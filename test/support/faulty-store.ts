import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import type { LocalHashStore, LocalStores } from '../../local/server.js';

/**
 * How the stores misbehave:
 * - `pass`: every call reaches the stores unchanged;
 * - `unavailable`: every call fails with UpstreamUnavailableError, as the embedded store's reads do when
 *   its file cannot be read (corrupt, locked, the disk gone).
 */
export type StoreFault = 'pass' | 'unavailable';

/** The switch of stores put between a local server and the stores it runs on. */
export interface StoreFaults {
  mode: StoreFault;
  /** Calls seen, by operation (`getMany`, `putRecords`, `listRecords`, `scans.get`...). */
  readonly calls: Map<string, number>;
  /**
   * Called with each call's operation and its count so far, before the mode is applied, so a test can
   * change the mode part-way (the second read of a scan, say).
   */
  onCall?: (operation: string, count: number) => void;
  /** Points the server at other stores from now on (the same data reopened, say). */
  use(stores: LocalStores): void;
}

/**
 * Stores for a local server that forward every call to `target`, or fail it as `faults.mode` says: the
 * service meets the faults through its real handlers, its answers built from what the stores throw.
 */
export function faultyStores(target: LocalStores): { stores: LocalStores; faults: StoreFaults } {
  let current = target;
  const faults: StoreFaults = {
    mode: 'pass',
    calls: new Map(),
    use: (stores) => {
      current = stores;
    },
  };
  const gate = (operation: string) => {
    const count = (faults.calls.get(operation) ?? 0) + 1;
    faults.calls.set(operation, count);
    faults.onCall?.(operation, count);
    if (faults.mode === 'unavailable') throw new UpstreamUnavailableError(`The store failed ${operation} (a test fault).`);
  };
  const hashes: LocalHashStore = {
    getMany: async (hashes) => (gate('getMany'), current.hashes.getMany(hashes)),
    getStored: async (hashes) => (gate('getStored'), current.hashes.getStored(hashes)),
    // A lookup reads records and containedIn together: the same read as getMany, counted as one.
    getManyWithContainers: async (hashes) => {
      gate('getMany');
      const { getManyWithContainers } = current.hashes;
      return getManyWithContainers
        ? getManyWithContainers.call(current.hashes, hashes)
        : { records: await current.hashes.getMany(hashes), containedIn: new Map() };
    },
    addSightings: async (sightings) => (gate('addSightings'), current.hashes.addSightings?.(sightings)),
    putRecords: async (records) => (gate('putRecords'), current.hashes.putRecords(records)),
    listRecords: async () => (gate('listRecords'), current.hashes.listRecords()),
    countRecords: async () => (gate('countRecords'), current.hashes.countRecords()),
    records: () => {
      gate('records');
      return current.hashes.records();
    },
  };
  const scans: LocalStores['scans'] = {
    put: async (record) => (gate('scans.put'), current.scans.put(record)),
    finish: async (record) => (gate('scans.finish'), current.scans.finish(record)),
    get: async (uploadId) => (gate('scans.get'), current.scans.get(uploadId)),
  };
  const listVersion = () => {
    gate('listVersion');
    return current.listVersion();
  };
  return { stores: { hashes, scans, listVersion }, faults };
}
