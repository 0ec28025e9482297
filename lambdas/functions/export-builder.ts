/** The Lambda function's entry: the export builder bound, at cold start, to the table and bucket its environment names. */
import { tmpdir } from 'node:os';
import { makeDynamoDbClient } from '../adapters/clients.js';
import { readConfig } from '../adapters/config.js';
import { readExportBucket, S3ExportObjects } from '../adapters/export-objects.js';
import { scanSortedList } from '../adapters/export-scan.js';
import { makeLogger } from '../adapters/logger.js';
import { makeS3Client } from '../adapters/s3-client.js';
import { makeExportBuilderHandler } from '../handlers/export-builder.js';

function defaultDeps() {
  const config = readConfig(['knownHashesTable']);
  const dynamoDb = makeDynamoDbClient({ endpoint: config.dynamoDbEndpoint });
  const scratchRoot = tmpdir();
  return {
    objects: new S3ExportObjects(makeS3Client({ endpoint: config.s3Endpoint }), { bucket: readExportBucket(), scratchDir: scratchRoot }),
    readList: (dir: string) => scanSortedList(dynamoDb, { tableName: config.knownHashesTable, dir }),
    scratchRoot,
    log: makeLogger(),
  };
}

export const handler = makeExportBuilderHandler(defaultDeps());
