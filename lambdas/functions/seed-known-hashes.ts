/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeSeedKnownHashesHandler } from '../handlers/seed-known-hashes.js';
import { fileURLToPath } from 'node:url';
import { makeLogger } from '../adapters/logger.js';
import { hashStoreFromEnv } from '../adapters/stores-from-env.js';

function defaultDeps() {
  return {
    // Copied next to the bundle at synth time (see lib/known-hashes-seed.ts).
    seedFile: fileURLToPath(new URL('./known-bad.jsonl', import.meta.url)),
    store: hashStoreFromEnv(),
    now: () => new Date(),
    log: makeLogger(),
  };
}

export const handler = makeSeedKnownHashesHandler(defaultDeps());
