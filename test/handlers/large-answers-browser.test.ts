import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { chromium, type Browser } from 'playwright-core';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeS3Client } from '../../lambdas/adapters/s3-client.js';
import { S3AnswerStore } from '../../lambdas/adapters/s3-answer-store.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import { makeLookupHandler } from '../../lambdas/handlers/lookup.js';
import { CORS_ORIGIN_VARIABLE } from '../../lambdas/http/handler.js';
import { answerReadCorsRule } from '../../lib/answer-bucket.js';
import { lookupEvent, memoryLog } from '../support/events.js';

const BUCKET = 'hashcheck-answers';
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
const HASHES = 2_000;

/** A list where every hash is known, as a record with 2 KiB of sources: 2,000 of them make an answer over 4 MiB. */
const everyHashKnown: HashStore = {
  async getMany(hashes) {
    return new Map(
      hashes.map((hash) => [
        hash,
        { sha256: hash, fileName: 'f.dll', platform: 'windows', version: '1', kind: 'library', stage: 's', campaign: 'c', confidence: 'high', sources: ['x'.repeat(2048)] },
      ]),
    );
  },
};

async function listen(listener: RequestListener): Promise<{ server: Server; origin: string }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe.skipIf(!CHROMIUM)('a web page on another origin than the API, reading a large answer', () => {
  let dir: string;
  let s3: S3rver;
  let s3Endpoint: string;
  let page: { server: Server; origin: string };
  let api: { server: Server; origin: string };
  let browser: Browser;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashcheck-answers-browser-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
    s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
    page = await listen((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>form</title>'));

    // The deployed lookup function, its CORS header naming the page's origin as the stack sets it.
    vi.stubEnv(CORS_ORIGIN_VARIABLE, page.origin);
    const handler = makeLookupHandler({
      store: everyHashKnown,
      log: memoryLog(),
      largeAnswers: new S3AnswerStore({
        bucket: BUCKET,
        region: 'us-east-1',
        endpoint: s3Endpoint,
        credentials: () => ({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }),
      }),
    });
    vi.unstubAllEnvs();
    // API Gateway in front of it: it answers the preflight itself, and hands the rest to the function.
    api = await listen(async (req, res) => {
      if (req.method === 'OPTIONS') {
        res
          .writeHead(204, {
            'access-control-allow-origin': page.origin,
            'access-control-allow-methods': 'POST',
            'access-control-allow-headers': 'content-type, x-api-key',
          })
          .end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const result = await handler(lookupEvent(Buffer.concat(chunks).toString('utf8'), String(req.headers['content-type'])));
      res.writeHead(result.statusCode, result.headers as Record<string, string>).end(result.body);
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await close(api?.server);
    await close(page?.server);
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Sets the answers bucket's CORS rule as the stack does for `origins`. */
  async function bucketCors(origins: readonly string[]): Promise<void> {
    const rule = answerReadCorsRule(origins);
    const client = makeS3Client({ endpoint: s3Endpoint });
    try {
      await client.send(
        new PutBucketCorsCommand({
          Bucket: BUCKET,
          CORSConfiguration: {
            CORSRules: [
              {
                ID: rule.id,
                AllowedOrigins: [...rule.allowedOrigins],
                AllowedMethods: [...rule.allowedMethods],
                AllowedHeaders: [...(rule.allowedHeaders ?? [])],
                MaxAgeSeconds: rule.maxAge,
              },
            ],
          },
        }),
      );
    } finally {
      client.destroy();
    }
  }

  /** The page's bulk lookup, sent as the web form sends it (`web/src/api.ts`): its key, no credentials. */
  async function lookupFromPage(): Promise<string> {
    const tab = await browser.newPage();
    try {
      await tab.goto(page.origin);
      const list = Array.from({ length: HASHES }, (_, i) => (i + 1).toString(16).padStart(64, '0')).join('\n');
      return await tab.evaluate(
        async ({ url, body }) => {
          try {
            const response = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'text/plain; charset=utf-8', 'x-api-key': 'key' },
              body,
              credentials: 'omit',
            });
            const answer = (await response.json()) as { summary: { malicious: number } };
            return `${response.status} redirected=${response.redirected} malicious=${answer.summary.malicious}`;
          } catch (error) {
            return `failed: ${String(error)}`;
          }
        },
        { url: `${api.origin}/v1/hashes/lookup`, body: list },
      );
    } finally {
      await tab.close();
    }
  }

  it('follows the 303 to the whole answer with the rule the stack gives the answers bucket', async () => {
    await bucketCors([page.origin]);
    expect(await lookupFromPage()).toBe(`200 redirected=true malicious=${HASHES}`);
  });

  it('would fail with a rule naming only the page origin: after the API redirect the browser sends Origin: null', async () => {
    const rule = answerReadCorsRule([page.origin]);
    const onlyPage = makeS3Client({ endpoint: s3Endpoint });
    try {
      await onlyPage.send(
        new PutBucketCorsCommand({
          Bucket: BUCKET,
          CORSConfiguration: { CORSRules: [{ AllowedOrigins: [page.origin], AllowedMethods: [...rule.allowedMethods], AllowedHeaders: ['*'] }] },
        }),
      );
    } finally {
      onlyPage.destroy();
    }
    expect(await lookupFromPage()).toMatch(/^failed: TypeError/);
  });
});
