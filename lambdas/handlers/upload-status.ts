import { getUploadStatus, type ScanStore } from '../core/uploads.js';
import { makeHttpHandler, type LargeAnswerStore, type Log } from '../http/handler.js';

/** `GET /v1/uploads/{uploadId}`: pending, done with the file's verdict, or failed with the reason. */
export function makeUploadStatusHandler(deps: { scans: ScanStore; now: () => Date; log: Log; largeAnswers?: LargeAnswerStore }) {
  return makeHttpHandler(
    {
      'GET /v1/uploads/{uploadId}': async (event) => ({
        statusCode: 200,
        json: await getUploadStatus(event.pathParameters?.['uploadId'] ?? '', deps),
      }),
    },
    deps,
  );
}
