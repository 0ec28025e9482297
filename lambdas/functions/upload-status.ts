/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeUploadStatusHandler } from '../handlers/upload-status.js';
import { makeLogger } from '../adapters/logger.js';
import { scanStoreFromEnv } from '../adapters/stores-from-env.js';

export const handler = makeUploadStatusHandler({ scans: scanStoreFromEnv(), now: () => new Date(), log: makeLogger() });
