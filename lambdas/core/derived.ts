import type { HashHex } from './hashes.js';
import type { LookedInside } from './inside/look-inside.js';
import type { RecordStore } from './import.js';
import { recordDigests, type KnownRecord } from './records.js';
import { MAX_CONTAINED_IN, type ContainerSighting, type Derivation, type FileVerdict, type MemberMatch } from './schemas.js';

/**
 * Remembering containers. When a scan finds a file malicious through a member inside it (the 3CX macOS DMG
 * through its `libffmpeg.dylib`), the file's own digests become a record of kind `container`, marked
 * `derived` with the member, its path, its record, when and which scan found it: the next hash-only lookup of
 * the same file (rspamd sends only an MD5) matches without a scan. A derived record never replaces a record
 * already stored under any of its digests: a curated record wins, a revoked one stays revoked, and one
 * already derived is left as it is, so scanning the same file again writes nothing. Each member on the list
 * also remembers the containers it was seen in (`containedIn` on its lookup), at most
 * {@link MAX_CONTAINED_IN}, newest first.
 */

export type { ContainerSighting };

/** A member digest seen in a container. */
export interface Sighting {
  readonly member: HashHex;
  readonly container: ContainerSighting;
}

/** What a lookup reads in one pass: the records, and for each hash seen in containers, those containers. */
export interface RecordsAndContainers {
  readonly records: ReadonlyMap<HashHex, KnownRecord>;
  /** Newest first; hashes seen in no container are absent. */
  readonly containedIn: ReadonlyMap<HashHex, readonly ContainerSighting[]>;
}

/**
 * The containers that members on the list were seen in. Kept beside the records, under keys that are not
 * hashes, so listings, counts and exports of the list never see them.
 */
export interface ContainerSightings {
  /**
   * Like `getMany`, and the containers each hash was seen in. Only those of the hashes on the list are
   * answered with (see `lookupHashes`): a store may leave the others unread.
   */
  getManyWithContainers(hashes: readonly HashHex[]): Promise<RecordsAndContainers>;
  /**
   * Adds each container to its member digest's list, newest first, keeping at most {@link MAX_CONTAINED_IN};
   * a container already listed for that digest (same SHA-256) is left where it is.
   */
  addSightings(sightings: readonly Sighting[]): Promise<void>;
}

/** A store that may also keep sightings; one without them keeps derived records only. */
export type ContainerStore = RecordStore & Partial<ContainerSightings>;

/**
 * Where scans remember containers; absent, they remember nothing (`HASHCHECK_REMEMBER_CONTAINERS=false`,
 * or a client such as the command line that has no write access).
 */
export interface ContainerMemory {
  readonly store: ContainerStore;
  readonly now: () => Date;
  /**
   * Told when the records could not be written. The verdict of the scan stands all the same: it was
   * answered from a complete read, and only the shortcut for the next lookup is missing.
   */
  readonly failed?: (error: unknown) => void;
}

/** Path names and chains are cut to these lengths in a record, which must fit one DynamoDB item. */
const MAX_PATH_DEPTH = 32;
const MAX_PATH_NAME = 1024;
const MAX_FILE_NAME = 512;
const MAX_SOURCE = 2048;

/** The name a client gave a file, as a record carries it: its last path segment, no control characters, never empty. */
export function containerFileName(fileName: string | null): string {
  const base = (fileName ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, MAX_FILE_NAME).trim();
  return clean === '' ? 'unnamed container' : clean;
}

function memberPath(path: readonly string[]): string[] {
  return path.slice(0, MAX_PATH_DEPTH).map((name) => name.slice(0, MAX_PATH_NAME));
}

function derivationOf(member: MemberMatch, at: string, scan: string): Derivation {
  const record = member.matches[0]!;
  return {
    member: { path: memberPath(member.path), sha256: member.sha256, sha1: member.sha1, md5: member.md5 },
    memberRecord: {
      ...(record.sha256 && { sha256: record.sha256 }),
      ...(record.sha1 && { sha1: record.sha1 }),
      ...(record.md5 && { md5: record.md5 }),
      fileName: record.fileName,
      campaign: record.campaign,
      kind: record.kind,
    },
    at,
    scan: scan.slice(0, 256),
  };
}

/** A container's own identity, as a record and a sighting carry it: the outer file, or a container inside it. */
interface ContainerFile {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly size: number;
  readonly fileName: string | null;
}

/**
 * The record of a container found bad through `member` (its path taken from the container): the
 * container's digests, size and name, what the file is (platform, version, stage, campaign, confidence)
 * taken from the member's record. `within` says where a container inside the scanned file was found.
 */
function containerRecordOf(file: ContainerFile, member: MemberMatch, at: string, scan: string, within?: string): KnownRecord {
  const record = member.matches[0]!;
  const where = memberPath(member.path).join(' > ');
  const found = within === undefined ? '' : `; found inside ${within}`;
  return {
    // A verdict's digests are the digest function's own output: lower-case hex of the right length.
    sha256: file.sha256 as HashHex,
    sha1: file.sha1 as HashHex,
    md5: file.md5 as HashHex,
    size: file.size,
    fileName: containerFileName(file.fileName),
    platform: record.platform,
    version: record.version,
    kind: 'container',
    stage: record.stage,
    campaign: record.campaign,
    confidence: record.confidence,
    sources: [`hashcheck scan ${scan}: contains ${where} (${record.fileName}, on the list)${found}`.slice(0, MAX_SOURCE)],
    addedAt: at,
    derived: derivationOf(member, at, scan),
  };
}

/** The members digested inside one file, by their path chain; only the path and digests are read. */
export type DigestedInside = Pick<LookedInside, 'members'>;

const chainKey = (path: readonly string[]) => JSON.stringify(path);

/**
 * The containers inside a file that a matched member lies in (the ZIP inside a tar.gz inside the ZIP
 * scanned), each with the member's path taken from it. Only those digested as members are known; one that
 * is itself on the list is left to its own record.
 */
function innerContainers(file: FileVerdict, inside: DigestedInside | undefined, member: MemberMatch): { container: ContainerFile; member: MemberMatch; at: readonly string[] }[] {
  if (!inside || member.path.length < 2) return [];
  const listed = new Set((file.inside?.matches ?? []).map((match) => chainKey(match.path)));
  const found: { container: ContainerFile; member: MemberMatch; at: readonly string[] }[] = [];
  for (let depth = 1; depth < member.path.length; depth++) {
    const at = member.path.slice(0, depth);
    if (listed.has(chainKey(at))) continue;
    const digested = inside.members.find((candidate) => sameChain(candidate.path, at));
    if (!digested) continue;
    const { sha256, sha1, md5, size } = digested.digests;
    found.push({ container: { sha256, sha1, md5, size, fileName: at.at(-1)! }, member: { ...member, path: member.path.slice(depth) }, at });
  }
  return found;
}

function sameChain(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

function sightingOf(container: ContainerFile, path: readonly string[], at: string): ContainerSighting {
  return {
    sha256: container.sha256,
    sha1: container.sha1,
    md5: container.md5,
    size: container.size,
    fileName: containerFileName(container.fileName),
    path: memberPath(path),
    seenAt: at,
  };
}

/**
 * What the verdicts of one scan teach the list: a derived record for every file malicious only through
 * members (the first member matched is its provenance), and for every container inside a file that a
 * matched member lies in (given `inside`, the members digested inside each file, in the order of `files`:
 * a container's digests are known once it was digested as a member); and a sighting of every such
 * container under each digest of each matched member in it. A file that came twice in the scan counts once.
 */
export function containersOf(
  files: readonly FileVerdict[],
  scan: string,
  now: Date,
  inside: readonly (DigestedInside | undefined)[] = [],
): { records: KnownRecord[]; sightings: Sighting[] } {
  const at = now.toISOString();
  const records = new Map<HashHex, KnownRecord>();
  const sightings = new Map<string, Sighting>();
  const sight = (member: MemberMatch, container: ContainerSighting) => {
    for (const digest of [member.sha256, member.sha1, member.md5] as HashHex[]) {
      const key = `${digest} ${container.sha256}`;
      if (!sightings.has(key)) sightings.set(key, { member: digest, container });
    }
  };
  files.forEach((file, index) => {
    const members = file.inside?.matches ?? [];
    if (members.length === 0) return;
    if (file.matches.length === 0 && !records.has(file.sha256 as HashHex)) records.set(file.sha256 as HashHex, containerRecordOf(file, members[0]!, at, scan));
    const outer = containerFileName(file.fileName);
    for (const member of members) {
      sight(member, sightingOf(file, member.path, at));
      for (const inner of innerContainers(file, inside[index], member)) {
        const within = `${outer} at ${memberPath(inner.at).join(' > ')}`;
        if (!records.has(inner.container.sha256 as HashHex)) records.set(inner.container.sha256 as HashHex, containerRecordOf(inner.container, inner.member, at, scan, within));
        sight(inner.member, sightingOf(inner.container, inner.member.path, at));
      }
    }
  });
  return { records: [...records.values()], sightings: [...sightings.values()] };
}

/**
 * Remembers the containers of one scan's verdicts, and of the containers inside them given `inside` (see
 * {@link containersOf}). A derived record is written
 * only where none of its digests has a record stored, revoked ones included: a curated record is never
 * replaced, a revoked one never re-created, and a second scan of the same file writes nothing. Records
 * are written in one `putRecords` call, sightings in one `addSightings` call. Failures go to
 * `memory.failed`, and the verdicts stand.
 */
export async function rememberContainers(
  files: readonly FileVerdict[],
  scan: string,
  memory: ContainerMemory,
  inside: readonly (DigestedInside | undefined)[] = [],
): Promise<void> {
  try {
    const { records, sightings } = containersOf(files, scan, memory.now(), inside);
    if (records.length > 0) {
      const stored = await memory.store.getStored(records.flatMap((record) => recordDigests(record).map(({ hash }) => hash)));
      const fresh = records.filter((record) => recordDigests(record).every(({ hash }) => !stored.has(hash)));
      if (fresh.length > 0) await memory.store.putRecords(fresh);
    }
    if (sightings.length > 0 && memory.store.addSightings) await memory.store.addSightings(sightings);
  } catch (error) {
    memory.failed?.(error);
  }
}

/**
 * Merges new sightings into the list of one member digest: newest first, a container already listed kept
 * where it is, at most {@link MAX_CONTAINED_IN}. Returns `undefined` when nothing changes, so a store
 * writes nothing for a scan of a file it has already seen.
 */
export function mergeSightings(listed: readonly ContainerSighting[], added: readonly ContainerSighting[]): ContainerSighting[] | undefined {
  const known = new Set(listed.map((sighting) => sighting.sha256));
  const fresh = added.filter((sighting) => !known.has(sighting.sha256) && known.add(sighting.sha256));
  if (fresh.length === 0) return undefined;
  return [...fresh.sort((a, b) => (a.seenAt < b.seenAt ? 1 : a.seenAt > b.seenAt ? -1 : 0)), ...listed].slice(0, MAX_CONTAINED_IN);
}

/**
 * `memory`, with its failures written to `log` (unless it reports them itself already): a container not
 * remembered is an error worth an alarm, though the scan's answer stands.
 */
export function loggingFailures(
  memory: ContainerMemory | undefined,
  log: { error(message: string, ...extra: Record<string, unknown>[]): void },
): ContainerMemory | undefined {
  if (!memory || memory.failed) return memory;
  return { ...memory, failed: (error) => log.error('Containers found bad through a member could not be remembered', { error }) };
}
