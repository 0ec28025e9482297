import { Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError, InvalidRequestError } from '../core/errors.js';

/** One file part as it streams out of the body. */
export interface FilePart {
  /** The file name the client gave, or `null`. */
  fileName: string | null;
  stream: Readable;
}

export interface MultipartLimits {
  /** The most file parts one body may carry. */
  maxFiles: number;
}

/** Keeps a client-supplied name printable and short; it is only ever shown back to the caller. */
export function cleanFileName(name: string | undefined | null): string | null {
  if (!name) return null;
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return cleaned === '' ? null : cleaned;
}

/**
 * Parses a `multipart/form-data` body as a stream with busboy and hands each file part to `onFile` as it
 * arrives; the results come back in part order. Form fields are ignored. A body without a boundary, with
 * broken part headers, or cut off before its closing boundary is `InvalidRequestError`, as is a body with
 * no file in it.
 */
export async function forEachFilePart<T>(
  body: Readable,
  contentType: string,
  limits: MultipartLimits,
  onFile: (part: FilePart) => Promise<T>,
): Promise<T[]> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      // Browsers send file names as UTF-8; busboy's default (latin1) would garble every non-ASCII name.
      defParamCharset: 'utf8',
      limits: { files: limits.maxFiles, fields: 50, parts: limits.maxFiles + 50 },
    });
  } catch (error) {
    throw new InvalidRequestError(`The multipart body cannot be parsed: ${(error as Error).message}.`, { cause: error });
  }
  const results: Promise<T | typeof SKIPPED>[] = [];
  let tooMany = false;
  const finished = new Promise<void>((resolve, reject) => {
    parser.on('file', (_field, stream, info) => {
      const fileName = cleanFileName(info.filename);
      const result = (async () => {
        // A file input left empty in a browser form sends a part with no file name and no bytes.
        try {
          if (fileName === null && (await isEmptyStream(stream))) return SKIPPED;
          return await onFile({ fileName, stream });
        } catch (error) {
          if (error instanceof AppError) throw error;
          throw new InvalidRequestError(`A file part could not be read: ${(error as Error).message}.`, { cause: error });
        }
      })();
      // Settled later in order; a rejection is not left unhandled in the meantime.
      result.catch(() => undefined);
      results.push(result);
    });
    parser.on('filesLimit', () => (tooMany = true));
    parser.on('partsLimit', () => (tooMany = true));
    parser.on('error', (error: Error) =>
      reject(new InvalidRequestError(`The multipart body is malformed: ${error.message}.`, { cause: error })),
    );
    parser.on('close', () => resolve());
  });
  body.on('error', (error) => parser.destroy(error));
  body.pipe(parser);
  try {
    await finished;
  } catch (error) {
    await Promise.allSettled(results);
    throw error;
  }
  const settled = (await Promise.all(results)).filter((r) => r !== SKIPPED) as T[];
  if (tooMany) throw new InvalidRequestError(`The body carries more than ${limits.maxFiles} files; send at most ${limits.maxFiles} per request.`);
  if (settled.length === 0) {
    throw new InvalidRequestError('The multipart body has no file part: add the file as a form field of type file.');
  }
  return settled;
}

const SKIPPED = Symbol('skipped');

/** Whether a part stream ends without a byte; a stream that has bytes is left as it was. */
function isEmptyStream(stream: Readable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('readable', () => {
      stream.off('error', reject);
      const chunk: Buffer | null = stream.read();
      if (chunk === null) {
        stream.resume();
        resolve(true);
      } else {
        stream.unshift(chunk);
        resolve(false);
      }
    });
  });
}
