import { Logger } from '@aws-lambda-powertools/logger';
import type { CdkCustomResourceEvent, Context, S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeLogger } from '../../lambdas/adapters/logger.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { ObjectStore, ScanStore } from '../../lambdas/core/uploads.js';
import { makeMetaHandler } from '../../lambdas/handlers/meta.js';
import { makeScanObjectHandler } from '../../lambdas/handlers/scan-object.js';
import { makeSeedKnownHashesHandler } from '../../lambdas/handlers/seed-known-hashes.js';
import { makeHttpHandler } from '../../lambdas/http/handler.js';
import { fixtureEvent } from '../support/events.js';

/** The service's logger, keeping each line it prints as the JSON object Lambda would receive. */
class CapturingLogger extends Logger {
  readonly lines: Record<string, unknown>[] = [];

  constructor() {
    // The suite runs with POWERTOOLS_LOG_LEVEL=SILENT; this logger prints everything from INFO up.
    super({ serviceName: 'hashcheck', logLevel: 'INFO' });
  }

  protected override printLog(_level: number, log: Parameters<Logger['printLog']>[1]): void {
    this.lines.push(JSON.parse(JSON.stringify(log.getAttributes())) as Record<string, unknown>);
  }
}

/** The context the Lambda runtime passes to an invocation. */
function lambdaContext(awsRequestId: string): Context {
  return {
    awsRequestId,
    functionName: 'HashLookup-Meta',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:HashLookup-Meta',
    memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/HashLookup-Meta',
    logStreamName: '2026/12/02/[$LATEST]0123456789abcdef',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

describe('makeHttpHandler with the Lambda context', () => {
  // Set by the Lambda runtime for a function without provisioned concurrency; Powertools reads it to tell cold starts.
  beforeAll(() => vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'));
  afterAll(() => vi.unstubAllEnvs());

  it('puts the invocation’s request id and cold start on every line it and its routes log', async () => {
    const log = new CapturingLogger();
    const handler = makeHttpHandler(
      {
        'GET /v1/health': async () => {
          log.info('health checked');
          log.warn('and a second line');
          return { statusCode: 200, json: { status: 'ok' } };
        },
      },
      { log },
    );

    expect((await handler(fixtureEvent('api-gateway-get-hash', { httpMethod: 'GET', resource: '/v1/health', path: '/v1/health' }), lambdaContext('first-invocation'))).statusCode).toBe(200);
    expect((await handler(fixtureEvent('api-gateway-get-hash', { httpMethod: 'GET', resource: '/v1/nothing', path: '/v1/nothing' }), lambdaContext('second-invocation'))).statusCode).toBe(404);

    expect(log.lines.map((line) => [line['message'], line['function_request_id'], line['cold_start']])).toEqual([
      ['health checked', 'first-invocation', true],
      ['and a second line', 'first-invocation', true],
      ['request rejected', 'second-invocation', false],
    ]);
    for (const line of log.lines) expect(line).toMatchObject({ service: 'hashcheck', function_name: 'HashLookup-Meta', function_memory_size: '256' });
  });

  it('passes the context from a handler module’s factory through to its logger', async () => {
    const log = new CapturingLogger();
    const handler = makeMetaHandler({ log });
    const event = fixtureEvent('api-gateway-get-hash', { httpMethod: 'DELETE', resource: '/v1/health', path: '/v1/health' });
    expect((await handler(event, lambdaContext('meta-invocation'))).statusCode).toBeGreaterThanOrEqual(400);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ message: 'request rejected', function_request_id: 'meta-invocation', cold_start: true });
  });

  it('logs as before when run without a Lambda context, as the local server runs it', async () => {
    const log = new CapturingLogger();
    const handler = makeMetaHandler({ log });
    await handler(fixtureEvent('api-gateway-get-hash', { httpMethod: 'GET', resource: '/v1/nothing', path: '/v1/nothing' }));
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ message: 'request rejected', service: 'hashcheck' });
    expect(log.lines[0]).not.toHaveProperty('function_request_id');
  });

  it('is the kind of logger the handler modules make: a Powertools Logger that takes the context', () => {
    const logger = makeLogger();
    expect(logger).toBeInstanceOf(Logger);
    expect(typeof logger.addContext).toBe('function');
  });
});

describe('makeScanObjectHandler with the Lambda context', () => {
  beforeAll(() => vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'));
  afterAll(() => vi.unstubAllEnvs());

  it('puts the invocation’s request id and cold start on the line of each object it scans', async () => {
    const unused = () => Promise.reject(new Error('not used for an object nobody asked for'));
    const deleted: string[] = [];
    const objects: ObjectStore = { presignUpload: unused, open: unused, delete: async (key) => void deleted.push(key) };
    const scans: ScanStore = { put: unused, finish: unused, get: unused };
    const store: HashStore = { getMany: unused };
    const log = new CapturingLogger();
    const handler = makeScanObjectHandler({ store, scans, objects, now: () => new Date(), log });
    const record = { eventName: 'ObjectCreated:Put', s3: { object: { key: 'stray-object' } } };
    await handler({ Records: [record, record] } as unknown as S3Event, lambdaContext('scan-invocation'));
    expect(deleted).toEqual(['stray-object', 'stray-object']);
    expect(log.lines.map((line) => [line['message'], line['outcome'], line['function_request_id'], line['cold_start']])).toEqual([
      ['upload scanned', 'not_an_upload', 'scan-invocation', true],
      ['upload scanned', 'not_an_upload', 'scan-invocation', true],
    ]);
  });
});

describe('makeSeedKnownHashesHandler with the Lambda context', () => {
  beforeAll(() => vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'));
  afterAll(() => vi.unstubAllEnvs());

  it('puts the invocation’s request id and cold start on its line', async () => {
    const log = new CapturingLogger();
    const unused = () => Promise.reject(new Error('a Delete imports nothing'));
    const handler = makeSeedKnownHashesHandler({ seedFile: 'unused.jsonl', store: { getMany: unused, getStored: unused, putRecords: unused }, now: () => new Date(), log });
    const event = { RequestType: 'Delete', PhysicalResourceId: 'known-hashes-seed' } as unknown as CdkCustomResourceEvent;
    expect(await handler(event, lambdaContext('deploy-invocation'))).toEqual({ PhysicalResourceId: 'known-hashes-seed' });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ message: 'seed resource deleted; records kept', function_request_id: 'deploy-invocation', cold_start: true });
  });
});
