/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeCreateUploadHandler } from '../handlers/create-upload.js';
import { makeLogger } from '../adapters/logger.js';
import { scanStoreFromEnv, uploadSignerFromEnv } from '../adapters/stores-from-env.js';

export const handler = makeCreateUploadHandler({
  scans: scanStoreFromEnv(),
  objects: uploadSignerFromEnv(),
  now: () => new Date(),
  log: makeLogger(),
});
