import type { CdkCustomResourceEvent, CdkCustomResourceResponse, Context } from 'aws-lambda';
import { importRecords, type ImportReport, type RecordStore } from '../core/import.js';
import { readRecordFile } from '../adapters/seed-file.js';
import type { Log } from '../http/handler.js';

/** The physical id of the one seed resource; stable, so an update never looks like a replacement. */
const PHYSICAL_ID = 'known-hashes-seed';

/**
 * The onEvent handler of the custom resource that loads the seed list at deploy time (CDK provider
 * framework). Create and Update run the same idempotent import the local server runs; Delete does
 * nothing, since the table and its records are retained. The import report is returned as data.
 */
export function makeSeedKnownHashesHandler(deps: { seedFile: string; store: RecordStore; now: () => Date; log: Log }) {
  return async (event: CdkCustomResourceEvent, context?: Context): Promise<CdkCustomResourceResponse<ImportReport>> => {
    if (context) deps.log.addContext?.(context);
    const physicalId = event.RequestType === 'Create' ? PHYSICAL_ID : event.PhysicalResourceId;
    if (event.RequestType === 'Delete') {
      deps.log.info('seed resource deleted; records kept', { requestType: event.RequestType });
      return { PhysicalResourceId: physicalId };
    }
    const report = await importRecords(await readRecordFile(deps.seedFile), deps);
    deps.log.info('seed list imported', { requestType: event.RequestType, ...report });
    return { PhysicalResourceId: physicalId, Data: report };
  };
}
