import type { Context, S3Event } from 'aws-lambda';
import { loggingFailures, type ContainerMemory } from '../core/derived.js';
import type { LookInside } from '../core/inside/look-inside.js';
import type { HashStore } from '../core/lookup.js';
import { scanUploadedObject, type ObjectReader, type ScanStore } from '../core/uploads.js';
import { decodeS3Key } from '../adapters/s3-keys.js';
import type { Log } from '../http/handler.js';

/**
 * The upload bucket's ObjectCreated handler. Each record's key is URL-decoded and scanned; a failure of
 * the stores is rethrown so Lambda retries the event and, past its retries, sends it to the failure
 * destination. Nothing about the file but its upload id and outcome is logged; each line carries the
 * invocation's request id and cold start. With `inside`, an object that is a container is opened and its
 * members judged with it, as `POST /v1/files` does; with `remember`, an upload found bad through a member
 * is remembered as a derived container record.
 */
export function makeScanObjectHandler(deps: {
  store: HashStore;
  scans: ScanStore;
  objects: ObjectReader;
  now: () => Date;
  log: Log;
  inside?: LookInside;
  remember?: ContainerMemory;
}) {
  const scanDeps = { ...deps, remember: loggingFailures(deps.remember, deps.log) };
  return async (event: S3Event, context?: Context): Promise<void> => {
    if (context) deps.log.addContext?.(context);
    for (const record of event.Records) {
      const key = decodeS3Key(record.s3.object.key);
      const outcome = await scanUploadedObject(key, scanDeps);
      deps.log.info('upload scanned', { key, outcome, eventName: record.eventName });
    }
  };
}
