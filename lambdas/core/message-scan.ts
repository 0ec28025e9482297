import { insideDeadline } from './inside/limits.js';
import type { LookInside } from './inside/look-inside.js';
import { readAttachments, type MimeLimits } from './mime.js';
import { digestFile, judgeFiles, type DigestedFile, type FileVerdict, type JudgeDeps } from './scan.js';

/** The verdict on one attachment of a message, with where it sits in the message. */
export interface AttachmentVerdict extends FileVerdict {
  /** The IMAP part number of the attachment, e.g. `2` or `3.2` (inside a message attached as part 3). */
  mimePath: string;
  /** The media type the message gives the attachment. */
  contentType: string;
}

/**
 * Checks every attachment of a MIME message: the message is read as a stream, each attachment is
 * decoded and digested as it goes by (with the one streaming digest function), and opened when it is a
 * container (with `inside`). The attachments are opened one after another but share one time limit,
 * started as the message is first read: an attachment reached once it has run out is judged by its own digests (and
 * any matches already found stand), `time` where it was cut off, so the answer arrives within the
 * limit. Once the whole message has been read, and so found well-formed, all digests
 * of the attachments and their members are looked up in one batch. A malformed
 * message is rejected before any lookup; a store failure propagates, so no attachment is ever reported
 * `unknown` for want of an answer. With `remember`, an attachment found bad through a member is remembered.
 */
export async function scanMessage(
  source: AsyncIterable<Uint8Array>,
  limits: MimeLimits,
  deps: JudgeDeps & { inside?: LookInside; now?: () => number },
): Promise<AttachmentVerdict[]> {
  const deadline = deps.inside ? insideDeadline(deps.inside.limits, deps.now) : undefined;
  const digested: (DigestedFile & { mimePath: string; contentType: string })[] = [];
  for await (const attachment of readAttachments(source, limits)) {
    const file = await digestFile(attachment.body, { fileName: attachment.fileName, maxBytes: limits.maxBytes, deadline }, deps);
    digested.push({ ...file, mimePath: attachment.path, contentType: attachment.contentType });
  }
  const verdicts = await judgeFiles(digested, deps);
  return verdicts.map((verdict, i) => ({ ...verdict, mimePath: digested[i]!.mimePath, contentType: digested[i]!.contentType }));
}
