import { digestStream, type FileDigests } from './digest.js';
import { lookupHashes, type HashStore, type Verdict } from './lookup.js';
import { parseHash } from './hashes.js';
import type { RecordView } from './records.js';

/** The answer for one scanned file: its digests, the verdict and every known-bad record it matched. */
export interface FileVerdict {
  fileName: string | null;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  verdict: Verdict;
  matches: RecordView[];
}

/**
 * Looks up the three digests of a file. A record matched by more than one digest is reported once.
 * Store failures propagate: a file whose digests could not be looked up has no verdict.
 */
export async function judgeDigests(
  digests: FileDigests,
  fileName: string | null,
  deps: { store: HashStore },
): Promise<FileVerdict> {
  const answers = await lookupHashes([digests.sha256, digests.sha1, digests.md5].map(parseHash), deps);
  const matches = new Map<string, RecordView>();
  for (const answer of answers) {
    if (!answer.match) continue;
    const key = answer.match.sha256 ?? answer.match.sha1 ?? answer.match.md5!;
    if (!matches.has(key)) matches.set(key, answer.match);
  }
  return {
    fileName,
    size: digests.size,
    md5: digests.md5,
    sha1: digests.sha1,
    sha256: digests.sha256,
    verdict: matches.size > 0 ? 'malicious' : 'unknown',
    matches: [...matches.values()],
  };
}

/** Digests a file in one streaming pass, with a byte cap, and judges it. */
export async function scanStream(
  source: AsyncIterable<Uint8Array>,
  options: { fileName: string | null; maxBytes: number },
  deps: { store: HashStore },
): Promise<FileVerdict> {
  const digests = await digestStream(source, { maxBytes: options.maxBytes });
  return judgeDigests(digests, options.fileName, deps);
}

