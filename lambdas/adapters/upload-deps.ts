import { makeDynamoDbClient } from './clients.js';
import { readConfig } from './config.js';
import { DynamoDbScanStore } from './dynamodb-scan-store.js';
import { S3ObjectStore } from './s3-object-store.js';
import { makeS3Client } from './s3-client.js';

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
