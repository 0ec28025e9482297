import { makeDynamoDbClient } from './clients.js';
import { readConfig } from './config.js';
import { DynamoDbHashStore } from './dynamodb-hash-store.js';
import { DynamoDbScanStore } from './dynamodb-scan-store.js';
import { S3ObjectStore } from './s3-object-store.js';
import { makeS3Client } from './s3-client.js';

/**
 * The stores as a bound function sees them, built once at cold start from the variables the CDK binders
 * set. Each throws naming the variable that is missing.
 */

/** The KnownHashes table (`KNOWN_HASHES_TABLE`), with reads bounded by the lookup deadline. */
export function hashStoreFromEnv(): DynamoDbHashStore {
  const config = readConfig(['knownHashesTable']);
  return new DynamoDbHashStore(makeDynamoDbClient({ endpoint: config.dynamoDbEndpoint }), {
    tableName: config.knownHashesTable,
    readDeadlineMs: config.lookupDeadlineMs,
  });
}

/** The Scans table as a bound function sees it (`SCANS_TABLE`). */
export function scanStoreFromEnv(): DynamoDbScanStore {
  const config = readConfig(['scansTable']);
  return new DynamoDbScanStore(makeDynamoDbClient({ endpoint: config.dynamoDbEndpoint }), { tableName: config.scansTable });
}

/** The upload bucket as a bound function sees it (`UPLOAD_BUCKET`). */
export function objectStoreFromEnv(): S3ObjectStore {
  const config = readConfig(['uploadBucket']);
  return new S3ObjectStore(makeS3Client({ endpoint: config.s3Endpoint }), { bucket: config.uploadBucket });
}
