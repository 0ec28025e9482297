import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file in the data folder holding the key upload URLs are signed with. */
export const UPLOAD_KEY_FILE = 'upload-signing.key';
const KEY_BYTES = 32;

/** What an upload URL is bound to: the upload, the size its client declared, and when the URL expires. */
export interface UploadGrant {
  readonly uploadId: string;
  readonly size: number;
  /** Epoch seconds. */
  readonly expires: number;
}

/** Why an upload URL is refused. */
export type GrantProblem = 'unsigned' | 'forged' | 'expired';

/**
 * Reads the signing key from the data folder, or makes one (32 random bytes, file `0600`, the folder created
 * `0700`) on first use. A key of another length is refused rather than replaced: URLs already handed out
 * would silently stop working.
 */
export async function loadUploadKey(dataDir: string): Promise<Buffer> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, UPLOAD_KEY_FILE);
  try {
    // `wx`: when two servers start on one folder at once, one key wins and both read it.
    await writeFile(path, randomBytes(KEY_BYTES), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = await readFile(path);
  if (key.length !== KEY_BYTES) {
    throw new Error(`${path} holds ${key.length} bytes, not the ${KEY_BYTES} of an upload signing key: delete it to make a new one.`);
  }
  return key;
}

/** The signature of a grant: HMAC-SHA256 over its three fields, in hex. */
export function signGrant(key: Buffer, grant: UploadGrant): string {
  return createHmac('sha256', key).update(`hashcheck-upload\n${grant.uploadId}\n${grant.size}\n${grant.expires}`).digest('hex');
}

/** The query of a signed upload URL. */
export function grantQuery(key: Buffer, grant: UploadGrant): string {
  return new URLSearchParams({ size: String(grant.size), expires: String(grant.expires), signature: signGrant(key, grant) }).toString();
}

/**
 * Reads and checks the grant in an upload URL's query: the signature must be the key's for this upload id,
 * size and expiry (compared in constant time), and the expiry still ahead at `nowMs`.
 */
export function verifyGrant(key: Buffer, uploadId: string, query: URLSearchParams, nowMs: number): UploadGrant | GrantProblem {
  const size = query.get('size');
  const expires = query.get('expires');
  const signature = query.get('signature');
  if (size === null || expires === null || signature === null) return 'unsigned';
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !/^[1-9][0-9]{0,15}$/.test(expires) || !/^[0-9a-f]{64}$/.test(signature)) return 'forged';
  const grant = { uploadId, size: Number(size), expires: Number(expires) };
  if (!timingSafeEqual(Buffer.from(signGrant(key, grant), 'hex'), Buffer.from(signature, 'hex'))) return 'forged';
  if (grant.expires * 1000 <= nowMs) return 'expired';
  return grant;
}
