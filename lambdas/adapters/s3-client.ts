import { S3Client } from '@aws-sdk/client-s3';

/**
 * Credentials the local S3 emulator accepts: s3rver knows one access key, `S3RVER`, and rejects any other
 * (it does not check signatures). Never used against AWS, where the function's role signs.
 */
const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * An S3 client for uploads, downloads and presigned URLs. Pointed at the local emulator (path-style
 * addressing, local credentials) when an endpoint is given; otherwise the region and credentials come
 * from the environment, as in Lambda.
 *
 * Checksums are only computed and validated where an operation requires them, in AWS as locally:
 * - the SDK's default adds a CRC32 to every upload; for a streamed body it sends `aws-chunked` framing
 *   with a checksum trailer, which s3rver stores verbatim as the object's bytes (and answers 200), so every
 *   digest of that object would be wrong;
 * - a presigned PUT URL from a default client carries the CRC32 of an empty body
 *   (`x-amz-checksum-crc32=AAAAAA==`), and real S3 then rejects every non-empty upload to it.
 */
export function makeS3Client(options: { endpoint?: string; region?: string } = {}): S3Client {
  return new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(options.endpoint
      ? {
          endpoint: options.endpoint,
          region: options.region ?? 'us-east-1',
          forcePathStyle: true,
          credentials: LOCAL_S3_CREDENTIALS,
        }
      : options.region
        ? { region: options.region }
        : {}),
  });
}
