import { digestStream, type FileDigests } from './digest.js';
import type { HashHex } from './hashes.js';
import type { HashStore } from './lookup.js';
import { readAttachments, type MimeLimits } from './mime.js';
import type { KnownRecord } from './records.js';
import { judgeDigests, type FileVerdict } from './scan.js';

/** The verdict on one attachment of a message, with where it sits in the message. */
export interface AttachmentVerdict extends FileVerdict {
  /** The IMAP part number of the attachment, e.g. `2` or `3.2` (inside a message attached as part 3). */
  mimePath: string;
  /** The media type the message gives the attachment. */
  contentType: string;
}

/**
 * Checks every attachment of a MIME message: the message is read as a stream, each attachment is
 * decoded and digested as it goes by (with the one streaming digest function), and once the whole
 * message has been read, and so found well-formed, all digests are looked up in one batch. A malformed
 * message is rejected before any lookup; a store failure propagates, so no attachment is ever reported
 * `unknown` for want of an answer.
 */
export async function scanMessage(
  source: AsyncIterable<Uint8Array>,
  limits: MimeLimits,
  deps: { store: HashStore },
): Promise<AttachmentVerdict[]> {
  const digested: { digests: FileDigests; fileName: string | null; mimePath: string; contentType: string }[] = [];
  for await (const attachment of readAttachments(source, limits)) {
    const digests = await digestStream(attachment.body, { maxBytes: limits.maxBytes });
    digested.push({ digests, fileName: attachment.fileName, mimePath: attachment.path, contentType: attachment.contentType });
  }
  if (digested.length === 0) return [];
  const hashes = [...new Set(digested.flatMap(({ digests }) => [digests.sha256, digests.sha1, digests.md5]))];
  const found = await deps.store.getMany(hashes);
  // Each attachment is judged against the answers of the one batch read above.
  const answered: HashStore = {
    getMany: async (asked: readonly HashHex[]) =>
      new Map(asked.flatMap((hash): [HashHex, KnownRecord][] => (found.has(hash) ? [[hash, found.get(hash)!]] : []))),
  };
  return Promise.all(
    digested.map(async ({ digests, fileName, mimePath, contentType }) => ({
      ...(await judgeDigests(digests, fileName, { store: answered })),
      mimePath,
      contentType,
    })),
  );
}
