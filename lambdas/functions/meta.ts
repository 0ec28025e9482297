/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeMetaHandler } from '../handlers/meta.js';
import { makeLogger } from '../adapters/logger.js';

export const handler = makeMetaHandler({ log: makeLogger() });
