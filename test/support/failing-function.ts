/** A function that logs an error through the service's logger, bundled by the source-map test as a Lambda bundle is. */
import { makeLogger } from '../../lambdas/adapters/logger.js';

function readTheList(): never {
  throw new Error('the list could not be read'); // THROW-LINE
}

const log = makeLogger();
try {
  readTheList();
} catch (error) {
  log.error('request failed', { error });
}
