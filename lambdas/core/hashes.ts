import { readChecksumLines } from './checksum-lines.js';
import { InvalidHashError } from './errors.js';

/** The digest algorithms the service knows, told apart by the length of their hex form. */
export type HashAlgorithm = 'md5' | 'sha1' | 'sha256';

declare const hashHexBrand: unique symbol;
/** A lower-case hexadecimal digest of 32, 40 or 64 characters, validated by {@link parseHash}. */
export type HashHex = string & { readonly [hashHexBrand]: true };

/** A validated hash and the algorithm its length implies. */
export interface ParsedHash {
  readonly hash: HashHex;
  readonly algorithm: HashAlgorithm;
}

/** The algorithm of a digest by the length of its hex form. */
export const ALGORITHM_BY_LENGTH: Readonly<Record<number, HashAlgorithm>> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };
const HEX = /^[0-9a-f]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Tabs and spaces (any Unicode space separator: the no-break space of a page a hash was copied from too):
 * what may surround a pasted, padded or aligned hash, and nothing else.
 */
const SURROUNDING_SPACE = /[\t\p{Zs}]/u;

/**
 * Drops the spaces and tabs around a hash (`String.prototype.trim` would also drop line breaks and other
 * control characters: a hash followed by a line break is two lines, not one padded hash). Linear in the
 * length whatever the input, unlike a regular expression anchored at the end.
 */
export function trimSpaces(input: string): string {
  let start = 0;
  let end = input.length;
  while (start < end && SURROUNDING_SPACE.test(input[start]!)) start++;
  while (end > start && SURROUNDING_SPACE.test(input[end - 1]!)) end--;
  return input.slice(start, end);
}

/**
 * Validates one hash: surrounding spaces and tabs are dropped, case is ignored, and the algorithm follows
 * from the length (32 md5, 40 sha1, 64 sha256). A line break, carriage return or other control character
 * anywhere, even at an end, makes it invalid.
 * @throws InvalidHashError for anything else, with a message saying what is wrong.
 */
export function parseHash(input: string): ParsedHash {
  // Most hashes come as they should, lower-case hex with nothing around them: told in one pass.
  const algorithm = ALGORITHM_BY_LENGTH[input.length];
  if (algorithm !== undefined && isLowerHex(input)) return { hash: input as HashHex, algorithm };
  return parseUntidyHash(input);
}

/** Whether every character of `text` is 0-9 or a-f. */
function isLowerHex(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}

/** {@link parseHash} of anything but a bare lower-case hash: spaces dropped, case ignored, every fault named. */
function parseUntidyHash(input: string): ParsedHash {
  const hash = trimSpaces(input).toLowerCase();
  if (hash.length === 0) {
    throw new InvalidHashError('The hash is empty: expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters.');
  }
  if (CONTROL.test(hash)) {
    throw new InvalidHashError(
      'The hash contains a line break or another control character: expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters, one hash per value.',
    );
  }
  if (!HEX.test(hash)) {
    throw new InvalidHashError(
      'The hash contains characters other than 0-9 and a-f: expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters.',
    );
  }
  const algorithm = ALGORITHM_BY_LENGTH[hash.length];
  if (algorithm === undefined) {
    throw new InvalidHashError(
      `The hash has ${hash.length} hex characters: expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256).`,
    );
  }
  return { hash: hash as HashHex, algorithm };
}

/** The result of checking one input of a list: a parsed hash, or the reason it is not one. */
export type HashInput =
  | { readonly input: string; readonly parsed: ParsedHash }
  | { readonly input: string; readonly error: InvalidHashError };

/** Parses each input independently, so one bad entry never spoils the others. */
export function parseHashList(inputs: readonly string[]): HashInput[] {
  return inputs.map(checkHash);
}

/** One input of a list: its parsed hash, or why it is not one. */
export function checkHash(input: string): HashInput {
  try {
    return { input, parsed: parseHash(input) };
  } catch (error) {
    if (error instanceof InvalidHashError) return { input, error };
    throw error;
  }
}

/**
 * Reads a plain-text hash list (bare hashes, `sha256sum`/`md5sum`/`sha1sum` output, tagged and hashdeep
 * lines: see {@link readChecksumLines}) and checks each digest. Each result echoes the whole line as it was
 * sent, so a caller can match answers to lines; a hashdeep line holding an MD5 and a SHA-256 gives a result
 * for each. A line that holds no digest is answered invalid in place.
 */
export function parseHashLines(text: string): HashInput[] {
  return readChecksumLines(text).flatMap(({ input, digests }) =>
    parseHashList(digests.map((digest) => digest.value)).map((result) => ({ ...result, input })),
  );
}
