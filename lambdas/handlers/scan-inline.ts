import { Readable } from 'node:stream';
import { loggingFailures, type ContainerMemory } from '../core/derived.js';
import { InvalidRequestError } from '../core/errors.js';
import { INLINE_UPLOAD_BYTES, MAX_INLINE_FILES } from '../core/limits.js';
import { insideDeadline } from '../core/inside/limits.js';
import type { LookInside } from '../core/inside/look-inside.js';
import type { HashStore } from '../core/lookup.js';
import { scanMessage } from '../core/message-scan.js';
import { scanStream } from '../core/scan.js';
import { makeHttpHandler, type LargeAnswerStore, type Log } from '../http/handler.js';
import { cleanFileName, forEachFilePart } from '../http/multipart.js';
import { bodyBytes, header, requireMediaType, textHeader } from '../http/request.js';
import { INLINE_LARGE_BODY_HINT } from '../http/routes.js';

/** Slices a body into views of at most 1 MiB without copying, as a file source would yield them. */
async function* chunksOf(bytes: Buffer): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += 1024 * 1024) yield bytes.subarray(offset, offset + 1024 * 1024);
}

/**
 * `POST /v1/files`: a raw body or multipart file parts up to 4 MiB in all, digested and judged; or a
 * whole mail message (`message/rfc822`), judged attachment by attachment. With `inside`, every file and
 * attachment that is a container is opened and its members judged with it, all of one request within one
 * time limit, so the answer arrives before the function's own timeout. With `remember`, a file found bad
 * through a member is remembered as a derived container record, the request id naming the scan.
 */
export function makeScanInlineHandler(deps: {
  store: HashStore;
  log: Log;
  inside?: LookInside;
  now?: () => number;
  remember?: ContainerMemory;
  largeAnswers?: LargeAnswerStore;
}) {
  const remember = loggingFailures(deps.remember, deps.log);
  return makeHttpHandler(
    {
      'POST /v1/files': async (event) => {
        const scan = { ...deps, scan: `request ${event.requestContext?.requestId ?? 'local'}`, remember };
        const type = requireMediaType(event, ['application/octet-stream', 'multipart/form-data', 'message/rfc822']);
        const body = bodyBytes(event, INLINE_UPLOAD_BYTES, INLINE_LARGE_BODY_HINT);
        if (type === 'message/rfc822') {
          if (body.length === 0) throw new InvalidRequestError('The body is empty: send the whole message, headers first.');
          return { statusCode: 200, json: { files: await scanMessage(chunksOf(body), { maxBytes: INLINE_UPLOAD_BYTES }, scan) } };
        }
        if (type === 'application/octet-stream') {
          if (body.length === 0) throw new InvalidRequestError('The body is empty: send the file bytes as the body.');
          const fileName = cleanFileName(textHeader(event, 'x-file-name'));
          const file = await scanStream(chunksOf(body), { fileName, maxBytes: INLINE_UPLOAD_BYTES, ...requestDeadline(deps) }, scan);
          return { statusCode: 200, json: { files: [file] } };
        }
        if (body.length === 0) throw new InvalidRequestError('The body is empty: send a multipart form with a file part.');
        const deadline = requestDeadline(deps);
        const files = await forEachFilePart(
          Readable.from([body]),
          header(event, 'content-type')!,
          { maxFiles: MAX_INLINE_FILES },
          (part) => scanStream(part.stream, { fileName: part.fileName, maxBytes: INLINE_UPLOAD_BYTES, ...deadline }, scan),
        );
        return { statusCode: 200, json: { files } };
      },
    },
    deps,
  );
}

/** One look-inside deadline for every file of a request (mail messages start their own, in `scanMessage`). */
function requestDeadline(deps: { inside?: LookInside; now?: () => number }) {
  return deps.inside ? { deadline: insideDeadline(deps.inside.limits, deps.now) } : {};
}
