import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { HttpResponse } from '@smithy/core/protocols';
import { describe, expect, it } from 'vitest';
import { S3ObjectReader, S3ObjectStore } from '../../lambdas/adapters/s3-object-store.js';
import { S3UploadSigner } from '../../lambdas/adapters/s3-upload-signer.js';
import { UpstreamUnavailableError } from '../../lambdas/core/errors.js';
import { uploadKey } from '../../lambdas/core/uploads.js';

/**
 * An S3 client whose every request gets the same error answer, as S3 sends it: the real SDK parses it
 * into the exception the object store sees.
 */
function clientAnswering(statusCode: number, code: string, message: string): S3Client {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>`;
  return new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      handle: async () => ({
        response: new HttpResponse({
          statusCode,
          headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'R1' },
          body: Readable.from([Buffer.from(xml)]),
        }),
      }),
    },
  });
}

const key = uploadKey('0b6f7c1e-2d7a-4c4e-9a51-3f7b2d9e8c10');

describe('S3ObjectStore.open', () => {
  it('takes AccessDenied, what S3 answers a role without s3:ListBucket for a missing object, as no object', async () => {
    const store = new S3ObjectStore(clientAnswering(403, 'AccessDenied', 'Access Denied'), { bucket: 'uploads-test' });
    await expect(store.open(key)).resolves.toBeUndefined();
  });

  it('takes NoSuchKey as no object', async () => {
    const store = new S3ObjectStore(clientAnswering(404, 'NoSuchKey', 'The specified key does not exist.'), { bucket: 'uploads-test' });
    await expect(store.open(key)).resolves.toBeUndefined();
  });

  it('takes AccessDenied as no object in the reader the scan function carries', async () => {
    const reader = new S3ObjectReader(clientAnswering(403, 'AccessDenied', 'Access Denied'), { bucket: 'uploads-test' });
    await expect(reader.open(key)).resolves.toBeUndefined();
  });

});

/** Runs `call` and returns what it failed with. */
async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => expect.unreachable('the call succeeded'),
    (error: unknown) => error,
  );
}

const noCredentials = () =>
  new S3Client({
    region: 'eu-west-1',
    credentials: () => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })),
  });

describe('S3ObjectStore failures', () => {
  it.each([
    {
      what: 'opening the file',
      call: () => new S3ObjectStore(clientAnswering(503, 'SlowDown', 'Please reduce your request rate.'), { bucket: 'uploads-test' }).open(key),
      says: 'could not be opened',
      cause: 'SlowDown',
    },
    {
      what: 'deleting the file',
      call: () => new S3ObjectStore(clientAnswering(403, 'AccessDenied', 'Access Denied'), { bucket: 'uploads-test' }).delete(key),
      says: 'could not be deleted',
      cause: 'AccessDenied',
    },
    {
      what: 'signing the upload URL',
      call: () => new S3ObjectStore(noCredentials(), { bucket: 'uploads-test' }).presignUpload(key, 10, 60),
      says: 'could not be signed',
      cause: 'CredentialsProviderError',
    },
    {
      what: 'opening the file from the scan function\'s reader',
      call: () => new S3ObjectReader(clientAnswering(503, 'SlowDown', 'Please reduce your request rate.'), { bucket: 'uploads-test' }).open(key),
      says: 'could not be opened',
      cause: 'SlowDown',
    },
    {
      what: 'deleting the file from the scan function\'s reader',
      call: () => new S3ObjectReader(clientAnswering(403, 'AccessDenied', 'Access Denied'), { bucket: 'uploads-test' }).delete(key),
      says: 'could not be deleted',
      cause: 'AccessDenied',
    },
    {
      what: 'signing the upload URL in the upload function\'s signer',
      call: () => new S3UploadSigner(noCredentials(), { bucket: 'uploads-test' }).presignUpload(key, 10, 60),
      says: 'could not be signed',
      cause: 'CredentialsProviderError',
    },
  ])('fails $what (any failure but a missing object) with UpstreamUnavailableError saying so, keeping the cause, so the event is retried', async ({ call, says, cause }) => {
    const error = await failureOf(call);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toContain(says);
    expect((error as Error).cause).toMatchObject({ name: cause });
  });
});
