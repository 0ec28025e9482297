import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { isSightingsKey } from '../adapters/dynamodb-hash-store.js';
import { makeFileLineSorter } from '../adapters/export-sort.js';
import { rebuildExports, type ExportObjects, type ReadList } from '../core/exports.js';
import type { Log } from '../http/handler.js';

export interface ExportBuilderDeps {
  readonly objects: ExportObjects;
  /** Reads the whole list, sorted, using `dir` as scratch. */
  readonly readList: (dir: string) => Promise<ReadList>;
  /** Where a rebuild's scratch folder is made (the function's /tmp). */
  readonly scratchRoot: string;
  readonly log: Log;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * The export builder: invoked by the KnownHashes table's change stream, a batch of changes at a time,
 * it writes every export of the list as a new version (see `rebuildExports`). Which records changed does
 * not matter: any change means a new version of the whole list; a batch that changed only the items
 * listing the containers members were seen in changes no record, and writes nothing. A failure keeps the last good exports,
 * marked stale in the manifest, and is thrown on so the stream retries the batch.
 */
export function makeExportBuilderHandler(deps: ExportBuilderDeps) {
  return async (event: DynamoDBStreamEvent): Promise<void> => {
    // The containers a member was seen in are kept in the same table, and are not part of the list.
    if (event.Records.length > 0 && event.Records.every((change) => isSightingsKey(change.dynamodb?.Keys?.['hash']?.S))) {
      deps.log.info('no change to the list: the exports stay as they are', { changes: event.Records.length });
      return;
    }
    const started = Date.now();
    const dir = await mkdtemp(join(deps.scratchRoot, 'exports-'));
    try {
      const manifest = await rebuildExports({
        objects: deps.objects,
        readList: () => deps.readList(dir),
        sortLines: makeFileLineSorter({ dir }),
        now: deps.now ?? (() => new Date()),
        newListId: () => randomBytes(6).toString('hex'),
      });
      deps.log.info('exports written', { version: manifest.version, changes: event.Records.length, ms: Date.now() - started });
    } catch (error) {
      deps.log.error('exports not written; the last good ones stay served', { changes: event.Records.length, error: error as Error });
      throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}
