/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeUploadStatusHandler } from '../handlers/upload-status.js';
import { makeLogger } from '../adapters/logger.js';
import { answerStoreFromEnv } from '../adapters/s3-answer-store.js';
import { scanStoreFromEnv } from '../adapters/stores-from-env.js';

export const handler = makeUploadStatusHandler({
  scans: scanStoreFromEnv(),
  now: () => new Date(),
  log: makeLogger(),
  // A verdict with the matches of thousands of members can outgrow a function's result: it is fetched from the answers bucket.
  largeAnswers: answerStoreFromEnv(),
});
