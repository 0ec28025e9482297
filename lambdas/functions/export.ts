/** The Lambda function's entry: the handler bound, at cold start, to the exports bucket its environment names. */
import { tmpdir } from 'node:os';
import { readConfig } from '../adapters/config.js';
import { readExportBucket, S3ExportObjects } from '../adapters/export-objects.js';
import { makeLogger } from '../adapters/logger.js';
import { makeS3Client } from '../adapters/s3-client.js';
import { makeExportHandler } from '../handlers/export.js';

function defaultDeps() {
  const config = readConfig([]);
  return {
    catalog: new S3ExportObjects(makeS3Client({ endpoint: config.s3Endpoint }), { bucket: readExportBucket(), scratchDir: tmpdir() }),
    log: makeLogger(),
  };
}

export const handler = makeExportHandler(defaultDeps());
