import { makeDynamoDbClient } from './clients.js';
import { readConfig } from './config.js';
import { DynamoDbHashStore } from './dynamodb-hash-store.js';
import { DynamoDbScanStore } from './dynamodb-scan-store.js';
import { S3ObjectReader } from './s3-object-store.js';
import { S3UploadSigner } from './s3-upload-signer.js';
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

/** The upload bucket (`UPLOAD_BUCKET`) as the scan function reads it: no presigner comes with it. */
export function objectReaderFromEnv(): S3ObjectReader {
  const config = readConfig(['uploadBucket']);
  return new S3ObjectReader(makeS3Client({ endpoint: config.s3Endpoint }), { bucket: config.uploadBucket });
}

/** The upload bucket (`UPLOAD_BUCKET`) as the function that creates uploads signs them. */
export function uploadSignerFromEnv(): S3UploadSigner {
  const config = readConfig(['uploadBucket']);
  return new S3UploadSigner(makeS3Client({ endpoint: config.s3Endpoint }), { bucket: config.uploadBucket });
}
