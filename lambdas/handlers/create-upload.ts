import { CREATE_UPLOAD_BODY_BYTES } from '../core/limits.js';
import { createUpload, type ScanStore, type UploadSigner } from '../core/uploads.js';
import { createUploadBodySchema } from '../core/schemas.js';
import { makeHttpHandler, type Log } from '../http/handler.js';
import { cleanFileName } from '../http/multipart.js';
import { jsonBody, requireMediaType } from '../http/request.js';

/** `POST /v1/uploads`: presigns a PUT and a POST for a file of up to 5 GiB and records a pending scan. */
export function makeCreateUploadHandler(deps: { scans: ScanStore; objects: UploadSigner; now: () => Date; log: Log }) {
  return makeHttpHandler(
    {
      'POST /v1/uploads': async (event) => {
        requireMediaType(event, ['application/json']);
        const input = jsonBody(event, createUploadBodySchema, CREATE_UPLOAD_BODY_BYTES);
        return { statusCode: 201, json: await createUpload({ ...input, fileName: cleanFileName(input.fileName) ?? 'unnamed' }, deps) };
      },
    },
    deps,
  );
}
