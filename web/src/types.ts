/** The shapes of the API answers the page reads (see `GET /v1/openapi.json`). */

export type Verdict = 'malicious' | 'unknown';

/** A known-bad record that matched. */
export interface Match {
  sha256?: string;
  sha1?: string;
  md5?: string;
  fileName: string;
  platform: string;
  version: string;
  kind: string;
  stage: string;
  campaign: string;
  confidence: string;
  sources: string[];
}

/** The verdict on one file. */
export interface FileVerdict {
  fileName: string | null;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  verdict: Verdict;
  matches: Match[];
}

export interface CreatedUpload {
  uploadId: string;
  post: { url: string; fields: Record<string, string> };
  expiresAt: string;
  maxBytes: number;
}

export interface UploadStatus {
  uploadId: string;
  status: 'pending' | 'done' | 'failed';
  file: FileVerdict | null;
  error?: { code: 'missing_object' | 'too_large' | 'read_error' | 'scan_timeout'; message: string };
}

export type BulkResult =
  | { input: string; hash: string; algorithm: 'md5' | 'sha1' | 'sha256'; verdict: Verdict; match: Match | null }
  | { input: string; error: { code: 'invalid_hash'; message: string } };

export interface BulkAnswer {
  results: BulkResult[];
  summary: { total: number; malicious: number; unknown: number; invalid: number };
}

/** What `config.json` next to the page says. */
export interface PageConfig {
  /** The API's base URL, ending in `/`; relative URLs resolve against the page. */
  apiUrl: string;
}
