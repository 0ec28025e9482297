import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Credentials the local emulators accept; never used against AWS, where the function's role signs. */
const LOCAL_CREDENTIALS = { accessKeyId: 'hashcheck-local', secretAccessKey: 'hashcheck-local' };

/**
 * A DynamoDB client with short timeouts: a gateway waits on every lookup, so a slow store must turn into
 * a quick 503 rather than a hung request. Pointed at the local emulator when an endpoint is given.
 */
export function makeDynamoDbClient(options: { endpoint?: string; region?: string } = {}): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 3,
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes and keeps waiting.
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2500, throwOnRequestTimeout: true },
    ...(options.endpoint
      ? { endpoint: options.endpoint, region: options.region ?? 'us-east-1', credentials: LOCAL_CREDENTIALS }
      : {}),
  });
}
