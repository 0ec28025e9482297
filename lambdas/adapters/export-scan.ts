import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { UpstreamUnavailableError } from '../core/errors.js';
import type { ReadList } from '../core/exports.js';
import { recordDigests, type KnownRecord } from '../core/records.js';
import { fromItem, isRecordItem } from './dynamodb-hash-store.js';
import { makeFileLineSorter } from './export-sort.js';

export interface ScanListOptions {
  readonly tableName: string;
  /** A private scratch folder for the sorted list, which the caller removes afterwards. */
  readonly dir: string;
  /** @default 200_000 */
  readonly runLines?: number;
}

/**
 * Reads the whole KnownHashes table for an export rebuild: a paginated, strongly consistent scan, one
 * record from the item of its strongest digest, revoked records and items that are not records (the
 * table also holds other kinds of items) left out. The records go, sorted by their strongest digest, to a
 * file in `dir` (the scan order is the table's hash order), so a list of millions is read back lazily
 * as often as the formats need. An item that claims to be a record and is not a valid one fails the
 * read: the exports are not written from a list that may be missing entries.
 */
export async function scanSortedList(client: DynamoDBClient, options: ScanListOptions): Promise<ReadList & { count: number }> {
  let latest = Number.NEGATIVE_INFINITY;
  const sortLines = makeFileLineSorter({ dir: options.dir, runLines: options.runLines });
  const lines = async function* (): AsyncGenerator<string> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await client.send(new ScanCommand({ TableName: options.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }));
      } catch (error) {
        throw new UpstreamUnavailableError('The known-bad list could not be read to write the exports.', { cause: error });
      }
      for (const item of page.Items ?? []) {
        const stored = unmarshall(item) as Record<string, unknown>;
        if (typeof stored['recordKey'] !== 'string') continue;
        for (const stamp of [stored['writtenAt'], stored['revokedAt'], stored['addedAt']]) {
          const time = typeof stamp === 'string' ? Date.parse(stamp) : Number.NaN;
          if (time > latest) latest = time;
        }
        if (!isRecordItem(stored)) continue;
        // Read (and so checked) as every reader of the table reads an item, revocation included.
        const record = fromItem(stored);
        if (record.revoked) continue;
        yield `${recordDigests(record)[0]!.hash}\t${JSON.stringify(record)}`;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  };
  const sorted = await sortLines(lines(), { unique: false });
  return {
    count: sorted.count,
    updatedAt: Number.isFinite(latest) ? new Date(latest).toISOString() : undefined,
    records: async function* () {
      for await (const line of sorted.lines()) yield JSON.parse(line.slice(line.indexOf('\t') + 1)) as KnownRecord;
    },
  };
}
