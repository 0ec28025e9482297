/**
 * Turns pasted text into the hashes to look up, remembering the line each came from so an invalid entry
 * can be reported as "invalid hash on line N". Pure: no DOM, so it is unit-tested in Node.
 */

import { readChecksumLines } from '../../lambdas/core/checksum-lines.js';
import { chunk } from '../../lambdas/core/chunk.js';
import { MAX_BULK_HASHES } from '../../lambdas/core/limits.js';

/** One entry taken from the pasted text. */
export interface PastedHash {
  /** 1-based line number in the pasted text. */
  readonly line: number;
  /** What was taken from that line, as sent to the service. */
  readonly value: string;
}

/** The service answers at most this many hashes per request; longer lists are split. */
export const HASHES_PER_REQUEST = MAX_BULK_HASHES;

/**
 * Takes the hashes of the pasted text with the service's own reader (`lambdas/core/checksum-lines.ts`):
 * one entry per non-blank line that is not a `#` comment; from `sha256sum`, `sha1sum` and `md5sum` output
 * (`HASH  name`, `HASH *name`, and `\HASH  name` when the name has a backslash or newline) the hash, from
 * tagged output (`SHA256 (name) = HASH`, `SHA2-256(name)= HASH`) the field after `=`, and from a hashdeep
 * line (`size,md5,sha256,name`) each of its hashes. Nothing is validated here: the service does that, and
 * the page reports its verdict for each line.
 */
export function extractHashes(text: string): PastedHash[] {
  return readChecksumLines(text).flatMap(({ line, digests }) => digests.map(({ value }) => ({ line, value })));
}

/** Splits entries into request-sized batches, in order. */
export function batches<T>(items: readonly T[], size = HASHES_PER_REQUEST): T[][] {
  return chunk(items, size);
}
