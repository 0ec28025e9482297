import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The service's one structured logger. Context goes in keys, never in message prefixes; bodies of
 * upload routes are never passed to it, since the body is the file.
 */
export function makeLogger(): Logger {
  return new Logger({ serviceName: 'hashcheck' });
}
