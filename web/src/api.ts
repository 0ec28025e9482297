import type { BulkAnswer, CreatedUpload, FileVerdict, PageConfig, UploadStatus } from './types.js';

/** Why a call failed, in the terms the page reacts to. */
export type ProblemKind = 'needs-key' | 'unavailable' | 'too-large' | 'rate-limited' | 'rejected' | 'network' | 'failed';

/** A failed call, with a message written for the person at the page. */
export class ApiProblem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

/** Messages for failures whose meaning does not depend on the call. */
export const MESSAGES = {
  unavailable: 'The service is unavailable right now. Try again in a moment.',
  network: 'The service could not be reached. Check your network connection, then try again.',
  rateLimited: 'Too many checks at once. Wait a moment, then try again.',
  needsKey: 'This service needs an API key. Enter it above, then try again.',
  badKey: 'The API key was not accepted. Check it, enter it above, then try again.',
} as const;

interface ErrorBody {
  error?: { code?: string; message?: string; requestId?: string };
}

/** Reads the service's error body when there is one; gateways in front may answer with anything. */
async function errorBody(response: Response): Promise<ErrorBody['error']> {
  try {
    return ((await response.json()) as ErrorBody).error;
  } catch {
    return undefined;
  }
}

/** Maps an error answer to a problem the page can explain. `tooLarge` says what "too large" means for this call. */
export async function problemOf(response: Response, tooLarge: string): Promise<ApiProblem> {
  const status = response.status;
  const error = await errorBody(response);
  if (status === 401) return new ApiProblem('needs-key', MESSAGES.needsKey, status);
  if (status === 403) return new ApiProblem('needs-key', MESSAGES.badKey, status);
  if (status === 413) return new ApiProblem('too-large', tooLarge, status);
  if (status === 429) return new ApiProblem('rate-limited', MESSAGES.rateLimited, status);
  if (status === 502 || status === 503 || status === 504) return new ApiProblem('unavailable', MESSAGES.unavailable, status);
  if (status >= 500) {
    const ref = error?.requestId ? ` If it keeps failing, give the operators this reference: ${error.requestId}.` : '';
    return new ApiProblem('failed', `The service failed to answer. Try again.${ref}`, status);
  }
  // 4xx answers of the service carry messages written for callers.
  return new ApiProblem('rejected', error?.message ?? `The service refused the request (HTTP ${status}).`, status);
}

/** Where the API is and which key to send. */
export interface ApiOptions {
  readonly baseUrl: URL;
  readonly apiKey: () => string | undefined;
}

/** The calls the page makes. Every failure is an `ApiProblem`. */
export class Api {
  constructor(private readonly options: ApiOptions) {}

  /** Where an upload's presigned POST goes: the page's CSP must allow it. */
  url(path: string): URL {
    return new URL(path, this.options.baseUrl);
  }

  private async call(path: string, init: RequestInit, tooLarge: string): Promise<Response> {
    const headers = new Headers(init.headers);
    const key = this.options.apiKey();
    if (key) headers.set('x-api-key', key);
    let response: Response;
    try {
      response = await fetch(this.url(path), { ...init, headers, credentials: 'omit', cache: 'no-store' });
    } catch {
      throw new ApiProblem('network', MESSAGES.network);
    }
    if (!response.ok) throw await problemOf(response, tooLarge);
    return response;
  }

  private async json<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiProblem('failed', 'The service sent an answer this page cannot read. Try again.');
    }
  }

  /** `POST /v1/files` with one file as a multipart form; the form keeps non-ASCII file names intact. */
  async scanFile(file: File): Promise<FileVerdict> {
    const form = new FormData();
    form.append('file', file, file.name);
    const response = await this.call(
      'v1/files',
      { method: 'POST', body: form },
      'The file is too large to send directly. Try again: the page sends large files another way.',
    );
    const answer = await this.json<{ files: FileVerdict[] }>(response);
    const verdict = answer.files[0];
    if (!verdict) throw new ApiProblem('failed', 'The service answered without a verdict for this file. Try again.');
    return verdict;
  }

  /** `POST /v1/uploads`: where to send a large file. */
  async createUpload(fileName: string, size: number): Promise<CreatedUpload> {
    const response = await this.call(
      'v1/uploads',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileName, size }) },
      'The file is too large: the service checks files of up to 5 GiB.',
    );
    return this.json<CreatedUpload>(response);
  }

  /** `GET /v1/uploads/{id}`. */
  async uploadStatus(uploadId: string): Promise<UploadStatus> {
    const response = await this.call(`v1/uploads/${encodeURIComponent(uploadId)}`, { method: 'GET' }, MESSAGES.unavailable);
    return this.json<UploadStatus>(response);
  }

  /** `POST /v1/hashes/lookup` with one hash per line. */
  async lookupHashes(values: readonly string[]): Promise<BulkAnswer> {
    const response = await this.call(
      'v1/hashes/lookup',
      { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: values.join('\n') },
      'The list is too long for one request. Split it and check the parts one after another.',
    );
    return this.json<BulkAnswer>(response);
  }
}

/** Reads `config.json` next to the page; without it the API is assumed at the page's own origin. */
export async function loadConfig(): Promise<PageConfig> {
  try {
    const response = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store', credentials: 'omit' });
    if (response.ok) {
      const config = (await response.json()) as Partial<PageConfig>;
      if (typeof config.apiUrl === 'string' && config.apiUrl !== '') return { apiUrl: config.apiUrl };
    }
  } catch {
    // Fall through to the same-origin default; a wrong default shows up as a visible error on the first check.
  }
  return { apiUrl: '/' };
}
