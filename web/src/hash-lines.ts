/**
 * Turns pasted text into the hashes to look up, remembering the line each came from so an invalid entry
 * can be reported as "invalid hash on line N". Pure: no DOM, so it is unit-tested in Node.
 */

/** One entry taken from the pasted text. */
export interface PastedHash {
  /** 1-based line number in the pasted text. */
  readonly line: number;
  /** What was taken from that line, as sent to the service. */
  readonly value: string;
}

/** The service answers at most this many hashes per request (`MAX_BULK_HASHES`); longer lists are split. */
export const HASHES_PER_REQUEST = 10_000;

/** `SHA256 (name) = hex` (BSD `shasum --tag`, `md5 -r` style) and `SHA2-256(name)= hex` (`openssl dgst`). */
const TAGGED_LINE = /^[A-Za-z0-9-]+\s*\(.*\)\s*=\s*(\S+)$/;

/**
 * Takes one entry per non-blank line that does not start with `#`: the first white-space separated field,
 * which is the hash in `sha256sum`, `sha1sum` and `md5sum` output (`HASH  name`, `HASH *name`, and
 * `\HASH  name` when the name has a backslash or newline). Tagged output (`SHA256 (name) = HASH`) gives
 * the field after `=`. Nothing is validated here: the service does that, and the page reports its verdict
 * for each line.
 */
export function extractHashes(text: string): PastedHash[] {
  const entries: PastedHash[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const tagged = TAGGED_LINE.exec(line);
    let value = tagged ? tagged[1]! : line.split(/\s+/, 1)[0]!;
    // coreutils escapes a line whose file name holds a backslash or newline with a leading backslash.
    if (!tagged && value.startsWith('\\') && /\s/.test(line)) value = value.slice(1);
    entries.push({ line: index + 1, value });
  }
  return entries;
}

/** Splits entries into request-sized batches, in order. */
export function batches<T>(items: readonly T[], size = HASHES_PER_REQUEST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
