/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeLookupHandler } from '../handlers/lookup.js';
import { makeLogger } from '../adapters/logger.js';
import { answerStoreFromEnv } from '../adapters/s3-answer-store.js';
import { hashStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  return {
    store: hashStoreFromEnv(),
    log: makeLogger(),
    // 10,000 bulk results can outgrow a function's result: those answers are fetched from the answers bucket.
    largeAnswers: answerStoreFromEnv(),
  };
}

export const handler = makeLookupHandler(defaultDeps());
