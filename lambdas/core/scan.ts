import { chunk } from './chunk.js';
import { rememberContainers, type ContainerMemory } from './derived.js';
import { digestStream, type FileDigests } from './digest.js';
import type { HashHex } from './hashes.js';
import { digestAndLookInside, type LookedInside, type LookInside } from './inside/look-inside.js';
import type { InsideDeadline } from './inside/limits.js';
import { MAX_BULK_HASHES } from './limits.js';
import type { HashStore } from './lookup.js';
import { recordDigests, toRecordView, type KnownRecord, type RecordView } from './records.js';
import type { FileVerdict, Inside } from './schemas.js';

/** The answer for one scanned file: its digests, the verdict and every known-bad record it matched. */
export type { FileVerdict } from './schemas.js';

/** A file to judge: its digests, already computed, and the name it is reported by. */
export interface DigestedFile {
  readonly digests: FileDigests;
  readonly fileName: string | null;
  /** What was found inside the file, when it was looked into; the answer then carries `inside`. */
  readonly inside?: LookedInside;
}

/**
 * What judging needs: the list to read and, to remember the containers found bad through a member (see
 * `rememberContainers`), where to write them and the scan's id (a request id or an upload id).
 */
export interface JudgeDeps {
  readonly store: HashStore;
  readonly remember?: ContainerMemory;
  readonly scan?: string;
}

/**
 * Judges many files from one batch answer: the distinct digests of all the files, and of every member
 * found inside them, are asked of the store in a single `getMany`, and each file is judged from that
 * answer, in the order given (asked in batches of the bulk limit). A file is malicious when any of its digests, or any digest of a member, is
 * on the list; a record matched by more than one digest is reported once. Store failures propagate: no
 * file gets a verdict unless every digest was answered. With `remember`, the files found malicious through
 * a member are then written to the list as derived container records, in one write for all the files.
 */
export async function judgeFiles(files: readonly DigestedFile[], deps: JudgeDeps): Promise<FileVerdict[]> {
  if (files.length === 0) return [];
  const asked = [
    ...new Set(files.flatMap(({ digests, inside }) => [...digestsOf(digests), ...(inside?.members ?? []).flatMap((member) => digestsOf(member.digests))])),
  ];
  // In batches of the bulk limit, one after another: each read of the store gets its whole deadline, however
  // many members an archive had.
  const found = new Map<HashHex, KnownRecord>();
  for (const batch of chunk(asked, MAX_BULK_HASHES)) for (const [hash, record] of await deps.store.getMany(batch)) found.set(hash, record);
  const verdicts = files.map((file) => judgeFrom(found, file));
  if (deps.remember) await rememberContainers(verdicts, deps.scan ?? 'unnamed', deps.remember, files.map((file) => file.inside));
  return verdicts;
}

/** A file's digests, strongest first. */
function digestsOf(digests: FileDigests): HashHex[] {
  return [digests.sha256, digests.sha1, digests.md5];
}

/** The records one file's digests match, each once. */
function matchesOf(found: ReadonlyMap<HashHex, KnownRecord>, digests: FileDigests): RecordView[] {
  const matches = new Map<HashHex, RecordView>();
  for (const digest of digestsOf(digests)) {
    const record = found.get(digest);
    if (!record) continue;
    // A record is known by its strongest digest, whichever of its digests matched.
    const key = recordDigests(record)[0]?.hash ?? digest;
    if (!matches.has(key)) matches.set(key, toRecordView(record));
  }
  return [...matches.values()];
}

function judgeFrom(found: ReadonlyMap<HashHex, KnownRecord>, { digests, fileName, inside }: DigestedFile): FileVerdict {
  const matches = matchesOf(found, digests);
  const summary = inside === undefined ? undefined : insideAnswer(found, inside);
  return {
    fileName,
    size: digests.size,
    md5: digests.md5,
    sha1: digests.sha1,
    sha256: digests.sha256,
    verdict: matches.length > 0 || (summary?.matches.length ?? 0) > 0 ? 'malicious' : 'unknown',
    matches,
    ...(summary === undefined ? {} : { inside: summary }),
  };
}

function insideAnswer(found: ReadonlyMap<HashHex, KnownRecord>, inside: LookedInside): Inside {
  return {
    members: inside.members.length,
    containers: inside.containers,
    complete: inside.reasons.length === 0,
    reasons: inside.reasons.map(({ reason, path }) => ({ reason, path: [...path] })),
    matches: inside.members.flatMap(({ path, digests }) => {
      const matches = matchesOf(found, digests);
      if (matches.length === 0) return [];
      return [{ path: [...path], size: digests.size, md5: digests.md5, sha1: digests.sha1, sha256: digests.sha256, matches }];
    }),
  };
}

/**
 * Digests a file in one streaming pass, with a byte cap; with `inside`, the file is also kept in a scratch
 * space and opened when it is a container (see {@link digestAndLookInside}), within what is left of
 * `deadline` when the file shares one with the other files of its request, or from its last byte with
 * `readingMs` (the most its reading may take). Returns the file ready to judge.
 */
export async function digestFile(
  source: AsyncIterable<Uint8Array>,
  options: { fileName: string | null; maxBytes: number; deadline?: InsideDeadline; readingMs?: number },
  deps: { inside?: LookInside },
): Promise<DigestedFile> {
  if (!deps.inside) return { digests: await digestStream(source, { maxBytes: options.maxBytes }), fileName: options.fileName };
  const { digests, inside } = await digestAndLookInside(source, options, deps.inside);
  return { digests, fileName: options.fileName, inside };
}

/** Digests a file in one streaming pass, with a byte cap (looking inside it with `inside`), and judges it. */
export async function scanStream(
  source: AsyncIterable<Uint8Array>,
  options: { fileName: string | null; maxBytes: number; deadline?: InsideDeadline },
  deps: JudgeDeps & { inside?: LookInside },
): Promise<FileVerdict> {
  const [file] = await judgeFiles([await digestFile(source, options, deps)], deps);
  return file!;
}
