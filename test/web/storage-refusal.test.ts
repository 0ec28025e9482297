import { describe, expect, it } from 'vitest';
import { describeStorageRefusal as storageProblem, readStorageRefusal } from '../../web/src/storage-refusal.js';

const s3 = (code: string, message: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
const json = (code: string, message: string) => JSON.stringify({ error: { code, message, requestId: 'r' } });

describe('a refusal from storage', () => {
  it("reads the code and message of S3's XML, its entities decoded, and of the service's JSON error", () => {
    expect(readStorageRefusal(s3('AccessDenied', 'Policy Condition failed: [&quot;eq&quot;, &quot;$key&quot;] &amp; more'))).toEqual({
      code: 'AccessDenied',
      message: 'Policy Condition failed: ["eq", "$key"] & more',
    });
    expect(readStorageRefusal(json('unauthorized', 'The upload URL has expired.'))).toEqual({ code: 'unauthorized', message: 'The upload URL has expired.' });
  });

  it('reads nothing from a body that is neither, or a JSON body of another shape', () => {
    for (const body of ['', 'Forbidden', '<html>403</html>', 'null', '[1]', '{"error":"x"}', '{"error":{"code":4}}']) {
      expect(readStorageRefusal(body), body).toEqual({ code: undefined, message: undefined });
    }
  });

  it('says a refused file with the words storage gave, its code when there are none, or plainly', () => {
    expect(storageProblem(403, json('unauthorized', 'The upload URL is not signed by this server.')).message).toBe(
      'Storage refused the file: The upload URL is not signed by this server. Try again.',
    );
    expect(storageProblem(403, s3('SignatureDoesNotMatch', '')).message).toBe('Storage refused the file (SignatureDoesNotMatch). Try again.');
    expect(storageProblem(403, 'Forbidden').message).toBe('Storage refused the file. Try again.');
    expect(storageProblem(503, s3('SlowDown', 'Please reduce your request rate.'))).toMatchObject({ kind: 'unavailable' });
  });

  it('names an expired link and a file larger than announced in either shape', () => {
    for (const body of [s3('AccessDenied', 'Request has expired'), json('unauthorized', 'The upload URL has expired. Ask POST /v1/uploads for a new one.')]) {
      expect(storageProblem(403, body)).toMatchObject({ kind: 'rejected', message: 'The upload link expired before the file was sent. Try again.' });
    }
    for (const body of [s3('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size'), json('payload_too_large', 'The body is longer.')]) {
      expect(storageProblem(413, body)).toMatchObject({ kind: 'too-large' });
    }
  });
});
