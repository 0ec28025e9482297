/**
 * How many entries a ZIP's central directory declares, read from its end records alone. 7-Zip loads a whole
 * central directory into memory before it lists a single entry, so an archive of millions of empty members
 * (tens of bytes each) would take gigabytes to list: the count is checked against the member limit first.
 */

/** The end-of-central-directory record (22 bytes and a comment of up to 64 KiB) and the ZIP64 locator before it. */
export const ZIP_END_BYTES = 22 + 0xffff + 20;

const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
/** Fixed part of a ZIP64 end-of-central-directory record, before its extensible data. */
const ZIP64_RECORD_BYTES = 56;

/**
 * The number of entries the central directory declares, from the last {@link ZIP_END_BYTES} bytes of a ZIP
 * (fewer for a shorter file), or `undefined` when no end record is found there. A ZIP64 archive's count is
 * read from its ZIP64 record when that record lies within `tail` (as every writer places it, just before the
 * locator); otherwise the count is `undefined`, and the archive is left to 7-Zip's own listing.
 */
export function zipEntriesDeclared(tail: Uint8Array): number | undefined {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  for (let at = tail.length - 22; at >= 0; at--) {
    if (view.getUint32(at, true) !== END_OF_DIRECTORY) continue;
    // A real end record's comment runs exactly to the end of the file.
    if (at + 22 + view.getUint16(at + 20, true) !== tail.length) continue;
    const entries = view.getUint16(at + 10, true);
    if (entries !== 0xffff) return entries;
    const locator = at - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) return undefined;
    const record = locator - ZIP64_RECORD_BYTES;
    if (record < 0 || view.getUint32(record, true) !== ZIP64_END_OF_DIRECTORY) return undefined;
    const total = view.getBigUint64(record + 32, true);
    return total > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(total);
  }
  return undefined;
}
