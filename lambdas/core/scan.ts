import { digestStream, type FileDigests } from './digest.js';
import type { HashHex } from './hashes.js';
import type { HashStore } from './lookup.js';
import { recordDigests, toRecordView, type KnownRecord, type RecordView } from './records.js';
import type { FileVerdict } from './schemas.js';

/** The answer for one scanned file: its digests, the verdict and every known-bad record it matched. */
export type { FileVerdict } from './schemas.js';

/** A file to judge: its digests, already computed, and the name it is reported by. */
export interface DigestedFile {
  readonly digests: FileDigests;
  readonly fileName: string | null;
}

/**
 * Judges many files from one batch answer: the distinct digests of all the files are asked of the store
 * in a single `getMany`, and each file is judged from that answer, in the order given. A file is
 * malicious when any of its digests is on the list; a record matched by more than one digest is reported
 * once. Store failures propagate: no file gets a verdict unless every digest was answered.
 */
export async function judgeFiles(files: readonly DigestedFile[], deps: { store: HashStore }): Promise<FileVerdict[]> {
  if (files.length === 0) return [];
  const asked = [...new Set(files.flatMap(({ digests }) => digestsOf(digests)))];
  const found = await deps.store.getMany(asked);
  return files.map(({ digests, fileName }) => judgeFrom(found, digests, fileName));
}

/** A file's digests, strongest first. */
function digestsOf(digests: FileDigests): HashHex[] {
  return [digests.sha256, digests.sha1, digests.md5];
}

function judgeFrom(found: ReadonlyMap<HashHex, KnownRecord>, digests: FileDigests, fileName: string | null): FileVerdict {
  const matches = new Map<HashHex, RecordView>();
  for (const digest of digestsOf(digests)) {
    const record = found.get(digest);
    if (!record) continue;
    // A record is known by its strongest digest, whichever of its digests matched.
    const key = recordDigests(record)[0]?.hash ?? digest;
    if (!matches.has(key)) matches.set(key, toRecordView(record));
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
  const [file] = await judgeFiles([{ digests, fileName: options.fileName }], deps);
  return file!;
}
