import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestStream } from '../../lambdas/core/digest.js';
import type { HashHex } from '../../lambdas/core/hashes.js';
import type { HashStore } from '../../lambdas/core/lookup.js';
import type { KnownRecord } from '../../lambdas/core/records.js';
import { makeScanInlineHandler } from '../../lambdas/handlers/scan-inline.js';
import { forEachFilePart } from '../../lambdas/http/multipart.js';
import { fixtureEvent, memoryLog } from '../support/events.js';
import { multipartBody } from '../support/multipart.js';

const digestsOf = (content: Uint8Array) => ({
  size: content.length,
  md5: createHash('md5').update(content).digest('hex'),
  sha1: createHash('sha1').update(content).digest('hex'),
  sha256: createHash('sha256').update(content).digest('hex'),
});

/** Cuts `body` at the given offsets, as the network may deliver it. */
function cutAt(body: Buffer, offsets: readonly number[]): Buffer[] {
  const cuts = [...new Set(offsets.map((o) => o % (body.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, body.length]) {
    if (cut > from) pieces.push(body.subarray(from, cut));
    from = Math.max(from, cut);
  }
  return pieces;
}

/** File contents that exercise boundaries: empty, tiny, and some that contain CRLF and dashes. */
const fileContent = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 4096 }),
  fc.uint8Array({ minLength: 1, maxLength: 70_000 }),
  fc.array(fc.constantFrom('\r\n', '--', '-', '\r', '\n', 'x', '--boundary'), { minLength: 1, maxLength: 200 }).map((parts) => new TextEncoder().encode(parts.join(''))),
);

const files = fc.array(
  fc.record({ content: fileContent, fileName: fc.constantFrom('a.bin', 'eicar.com', 'report 2023.pdf', 'setup (1).msi') }),
  { minLength: 1, maxLength: 4 },
);

describe('forEachFilePart, for any files and any chunking of the body', () => {
  it('gives each file part the digests of its content, in order', async () => {
    await fc.assert(
      fc.asyncProperty(files, fc.array(fc.nat(), { maxLength: 30 }), async (parts, offsets) => {
        const { body, contentType } = multipartBody(parts.map((p) => ({ field: 'file', fileName: p.fileName, content: Buffer.from(p.content) })));
        const seen = await forEachFilePart(Readable.from(cutAt(body, offsets)), contentType, { maxFiles: 20 }, async (part) => ({
          fileName: part.fileName,
          ...(await digestStream(part.stream, { maxBytes: 1024 * 1024 })),
        }));
        expect(seen).toEqual(parts.map((p) => ({ fileName: p.fileName, ...digestsOf(p.content) })));
      }),
      { numRuns: 60 },
    );
  });
});

/** A store that knows nothing; property runs need no table. */
const emptyStore: HashStore = { getMany: async () => new Map<HashHex, KnownRecord>() };

function filesEvent(body: Buffer, contentType: string): APIGatewayProxyEvent {
  const base = fixtureEvent('api-gateway-post-lookup');
  return {
    ...base,
    resource: '/v1/files',
    path: '/v1/files',
    headers: { 'Content-Type': contentType },
    multiValueHeaders: { 'Content-Type': [contentType] },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

describe('POST /v1/files with a multipart body cut short anywhere', () => {
  const handler = makeScanInlineHandler({ store: emptyStore, log: memoryLog() });

  it('answers 400 invalid_request, or 200 with the right digests when only the closing line break is lost; never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(files, fc.nat(), async (parts, at) => {
        const { body, contentType } = multipartBody(parts.map((p) => ({ field: 'file', fileName: p.fileName, content: Buffer.from(p.content) })));
        const cut = body.subarray(0, at % body.length);
        const result = await handler(filesEvent(cut, contentType));
        const answer = JSON.parse(result.body) as { error?: { code: string }; files?: { sha256: string }[] };
        if (result.statusCode === 200) {
          expect(body.length - cut.length).toBeLessThanOrEqual(2);
          expect(answer.files!.map((f) => f.sha256)).toEqual(parts.map((p) => digestsOf(p.content).sha256));
        } else {
          expect(result.statusCode).toBe(400);
          expect(answer.error!.code).toBe('invalid_request');
        }
      }),
      { numRuns: 150 },
    );
  });
});
