import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbHashStore, type DynamoDbHashStoreOptions } from './dynamodb-hash-store.js';

/**
 * How the admin function reads and writes the KnownHashes table: sized for one import request of the
 * command line (1 MiB of feed, about 16,000 SHA-256 records or 5,000 CSV rows of three digests: 15,000–16,000
 * items either way) and timed to end inside API Gateway's 29 s, not the function's 60 s. A request that
 * API Gateway cuts off answers 504 while the function writes on unseen; one that runs out of these
 * deadlines answers 503 `upstream_unavailable`, which the command line retries (imports are idempotent).
 *
 * Budget of one request: start and parse about 1 s, reads at most 5 s, writes at most 18 s: 24 s.
 */
export const ADMIN_STORE_OPTIONS = {
  /** BatchGetItem calls (100 keys) in flight while an import reads what is already stored. */
  concurrency: 8,
  /**
   * BatchWriteItem calls (25 items) in flight: 400 items. A new on-demand table takes about 4,000 writes
   * a second; at about 10–20 ms a call, 16 in flight can offer it 20,000 or more, so the table, not the
   * function, sets the pace, and a throttled call's unprocessed items are retried while the others go on.
   */
  writeConcurrency: 16,
  readDeadlineMs: 5_000,
  writeDeadlineMs: 18_000,
} as const satisfies Partial<DynamoDbHashStoreOptions>;

/** The longest an admin request may spend on the table, to be kept well under API Gateway's 29 s. */
export const ADMIN_STORE_BUDGET_MS = ADMIN_STORE_OPTIONS.readDeadlineMs + ADMIN_STORE_OPTIONS.writeDeadlineMs;

/** The KnownHashes table as the admin function uses it; `overrides` are for tests (a clock, a pause). */
export function makeAdminHashStore(
  client: DynamoDBClient,
  tableName: string,
  overrides: Partial<DynamoDbHashStoreOptions> = {},
): DynamoDbHashStore {
  return new DynamoDbHashStore(client, { tableName, ...ADMIN_STORE_OPTIONS, ...overrides });
}
