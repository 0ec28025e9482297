/**
 * The shapes of the API answers the page reads: the service's own schemas, the ones `GET /v1/openapi.json`
 * is generated from. Only types come from there; nothing of the schema library reaches the page.
 */
export type {
  BulkAnswer,
  BulkResult,
  CreatedUpload,
  FileVerdict,
  RecordView as Match,
  UploadStatusView as UploadStatus,
  Verdict,
} from '../../lambdas/core/schemas.js';

/** What `config.json` next to the page says. */
export interface PageConfig {
  /** The API's base URL, ending in `/`; relative URLs resolve against the page. */
  apiUrl: string;
}
