import { digestStream, type FileDigests } from '../digest.js';
import { PayloadTooLargeError } from '../errors.js';
import { containerFormat, HEAD_BYTES, TAIL_BYTES, type ContainerFormat } from './formats.js';
import { limitsBefore, RATIO_FLOOR_BYTES, type IncompleteReason, type InsideDeadline, type InsideLimits } from './limits.js';
import { ZIP_END_BYTES, zipEntriesDeclared } from './zip-directory.js';

/**
 * Looking inside a file: the file is kept in a scratch space while it is digested, and when its bytes say
 * it is a container it is opened, every member digested with the one digest function, and each member
 * that is a container opened in turn, within the limits. What could not be read is reported with the
 * reason and where, never skipped in silence. The verdict is not given here: the caller looks up the
 * file's and all members' digests in one batch.
 */

/** A file in the scratch space: the outer file or a member extracted from a container. */
export interface InsideFile {
  /** The name: the outer file's, or the member's path inside its container (`/` between folders). */
  readonly name: string;
  readonly size: number;
}

/** What a container's index says of one entry, before anything is extracted; sizes may lie. */
export interface ListedEntry {
  readonly name: string;
  readonly size: number | null;
  readonly encrypted: boolean;
}

/** A container's index, or why it could not be read (`members`: it has more entries than were asked for). */
export type Listing =
  | {
      readonly entries: readonly ListedEntry[];
      /** After the container's own end come the bytes of another container (see `trailing` in `INCOMPLETE_REASONS`). */
      readonly trailingContainer?: boolean;
    }
  | { readonly problem: 'corrupt' | 'unsupported' | 'members' | 'encrypted' };

/** The members a container was extracted to, and what went wrong on the way. */
export interface Extraction {
  /** Regular files only, in name order: links, devices and folders are never members. */
  readonly members: readonly InsideFile[];
  /** The container was damaged: some members are missing or truncated. */
  readonly corrupt: boolean;
  /** Members that could not be decrypted (by name), never digested. */
  readonly encrypted: readonly string[];
  /** The members held more than the byte budget: extraction was stopped there, the last member may be cut short. */
  readonly overBudget: boolean;
  /** Deletes the members from the scratch space. */
  release(): Promise<void>;
}

/** Where one file is written while it is digested. */
export interface FileSink {
  /** Resolves once the chunk is written: the caller may then reuse its buffer. */
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<InsideFile>;
}

/**
 * One file's scratch space and the engine that opens containers in it. Every call after the time limit
 * rejects with {@link InsideTimeLimitError}; whatever was extracted is deleted by {@link close}, which
 * also ends the engine, and is called whatever happened.
 */
export interface InsideWorkspace {
  create(name: string): FileSink;
  /** The first `headBytes` and last `tailBytes` bytes of a file, for {@link containerFormat}. */
  ends(file: InsideFile, headBytes: number, tailBytes: number): Promise<{ head: Uint8Array; tail: Uint8Array }>;
  /** Whether the engine opens this format at all. */
  opens(format: ContainerFormat): boolean;
  /** The container's entries; past `maxEntries` of them, only that there are too many. */
  list(file: InsideFile, maxEntries: number): Promise<Listing>;
  /** Extracts every member, writing at most `maxBytes` bytes whatever the index claimed. */
  extract(file: InsideFile, maxBytes: number): Promise<Extraction>;
  read(file: InsideFile): AsyncIterable<Uint8Array>;
  /** Starts the time limit again, from now, with `timeMs` (when it should count from the file's last byte). */
  startClock?(timeMs: number): void;
  close(): Promise<void>;
}

/**
 * Opens a scratch space for one file, with its time limit starting now. Synchronous, so a caller can start
 * reading a stream (and so receive its errors) before anything else is awaited.
 */
export interface LookInside {
  open(limits: InsideLimits): InsideWorkspace;
  readonly limits: InsideLimits;
}

/** The time limit of one file's look-inside was reached; the engine has been stopped. */
export class InsideTimeLimitError extends Error {
  constructor() {
    super('The time limit of looking inside the file was reached');
    this.name = 'InsideTimeLimitError';
  }
}

/** One member digested, with its path chain from the outer file (the outer file's own name not included). */
export interface DigestedMember {
  readonly path: readonly string[];
  readonly digests: FileDigests;
}

/** Where a look-inside stopped short, the path being the member (or container) concerned, `[]` for the file itself. */
export interface IncompleteAt {
  readonly reason: IncompleteReason;
  readonly path: readonly string[];
}

/** What was found inside one file. */
export interface LookedInside {
  /** Members digested. */
  readonly members: readonly DigestedMember[];
  /** Containers opened, the file itself included when it is one. */
  readonly containers: number;
  readonly reasons: readonly IncompleteAt[];
}

/** Nothing inside: a file that is no container. */
export const NOTHING_INSIDE: LookedInside = { members: [], containers: 0, reasons: [] };

/**
 * Digests a file while keeping it in a fresh scratch space, then looks inside it. The scratch space is
 * closed (its files deleted, its engine ended) before this returns or throws. Under a `deadline` shared
 * with other files, the file gets what is left of it: a container reached after the deadline is judged by
 * its own digests, `time` at its own path, and is never opened. With `readingMs` (a file that arrives at a
 * client's pace, with a deadline of its own), the file may take that long to read, and the time limit starts
 * at its last byte.
 * @throws PayloadTooLargeError when the file itself is larger than `maxBytes`.
 */
export async function digestAndLookInside(
  source: AsyncIterable<Uint8Array>,
  options: { fileName: string | null; maxBytes: number; deadline?: InsideDeadline; readingMs?: number },
  inside: LookInside,
): Promise<{ digests: FileDigests; inside: LookedInside }> {
  const limits = options.deadline ? limitsBefore(inside.limits, options.deadline) : inside.limits;
  if (limits.timeMs <= 0) return digestPastDeadline(source, options.maxBytes);
  // With `readingMs`, reading the file has a time of its own, and the time limit counts from its last byte.
  const reading = options.readingMs;
  const workspace = inside.open(reading === undefined ? limits : { ...limits, timeMs: reading });
  try {
    const sink = workspace.create(options.fileName ?? 'file');
    /** The time limit was reached while the file was still being read: it is digested, but no longer kept. */
    let cut = false;
    async function* kept(): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        if (!cut) {
          try {
            await sink.write(chunk);
          } catch (error) {
            if (!(error instanceof InsideTimeLimitError)) throw error;
            cut = true;
          }
        }
        yield chunk;
      }
    }
    const digests = await digestStream(kept(), { maxBytes: options.maxBytes });
    if (cut) return { digests, inside: TIME_AT_FILE };
    const file = await sink.close();
    if (reading !== undefined) workspace.startClock?.(limits.timeMs);
    return { digests, inside: await lookInside(file, workspace, limits) };
  } finally {
    await workspace.close();
  }
}

/** The file itself could not be looked into in time. */
const TIME_AT_FILE: LookedInside = { members: [], containers: 0, reasons: [{ reason: 'time', path: [] }] };

/**
 * Digests a file reached after the deadline, without a scratch space: only its first and last bytes are
 * kept, to tell a container (reported `time`, never opened) from a file that has no inside.
 */
async function digestPastDeadline(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<{ digests: FileDigests; inside: LookedInside }> {
  const head = new Uint8Array(HEAD_BYTES);
  let headLength = 0;
  let tail = new Uint8Array(0);
  async function* watched(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      if (headLength < HEAD_BYTES) {
        const taken = chunk.subarray(0, HEAD_BYTES - headLength);
        head.set(taken, headLength);
        headLength += taken.length;
      }
      const joined = new Uint8Array(Math.min(TAIL_BYTES, tail.length + chunk.length));
      const fromChunk = Math.min(chunk.length, joined.length);
      joined.set(tail.subarray(tail.length - (joined.length - fromChunk)), 0);
      joined.set(chunk.subarray(chunk.length - fromChunk), joined.length - fromChunk);
      tail = joined;
      yield chunk;
    }
  }
  const digests = await digestStream(watched(), { maxBytes });
  const format = containerFormat(head.subarray(0, headLength), digests.size >= TAIL_BYTES ? tail : new Uint8Array());
  return { digests, inside: format ? TIME_AT_FILE : NOTHING_INSIDE };
}

/** Opens a file kept in a workspace, and every container inside it, within the limits. */
export async function lookInside(file: InsideFile, workspace: InsideWorkspace, limits: InsideLimits): Promise<LookedInside> {
  const members: DigestedMember[] = [];
  const reasons: IncompleteAt[] = [];
  let containers = 0;
  /** Bytes extracted so far, at every depth. */
  let bytes = 0;
  /** Where the look-inside is, for the time limit's report. */
  let at: readonly string[] = [];
  const report = (reason: IncompleteReason, path: readonly string[]) => {
    if (!reasons.some((r) => r.reason === reason && sameChain(r.path, path))) reasons.push({ reason, path });
  };

  /**
   * Opens `container` (at `path`, `depth` containers deep) when it is one and digests its members in name
   * order, opening each in turn; `stop` once the member limit ends the whole look-inside.
   */
  async function visit(container: InsideFile, path: readonly string[], depth: number): Promise<'go' | 'stop'> {
    at = path;
    const { head, tail } = await workspace.ends(container, HEAD_BYTES, TAIL_BYTES);
    const format = containerFormat(head, container.size >= TAIL_BYTES ? tail : new Uint8Array());
    if (!format) return 'go';
    if (!workspace.opens(format)) return report('unsupported', path), 'go';
    if (depth >= limits.maxDepth) return report('depth', path), 'go';
    if (format === 'zip') {
      // 7-Zip would hold the whole central directory to list it: a count past the limit is refused unread.
      const declared = zipEntriesDeclared((await workspace.ends(container, 0, ZIP_END_BYTES)).tail);
      if (declared !== undefined && members.length + declared > limits.maxMembers) return report('members', path), 'go';
    }
    const listing = await workspace.list(container, limits.maxMembers - members.length);
    // A container that would pass a limit is left closed; the members already out are still checked.
    if ('problem' in listing) return report(listing.problem, path), 'go';
    const entries = listing.entries;
    if (listing.trailingContainer) report('trailing', path);
    if (members.length + entries.length > limits.maxMembers) return report('members', path), 'go';
    const claimed = entries.reduce((sum, entry) => sum + (entry.size ?? 0), 0);
    if (bytes + claimed > limits.maxBytes) return report('bytes', path), 'go';
    if (claimed > RATIO_FLOOR_BYTES && claimed > limits.maxRatio * Math.max(container.size, 1)) return report('ratio', path), 'go';
    for (const entry of entries) if (entry.encrypted) report('encrypted', [...path, entry.name]);
    const extraction = await workspace.extract(container, limits.maxBytes - bytes);
    containers += 1;
    try {
      const unpacked = extraction.members.reduce((sum, member) => sum + member.size, 0);
      bytes += unpacked;
      // Members that inflate past what the index claimed are cut at the byte limit, never written in full;
      // what was written is still checked, and nothing after it.
      if (extraction.overBudget) report('bytes', path);
      if (extraction.corrupt) report('corrupt', path);
      for (const name of extraction.encrypted) report('encrypted', [...path, name]);
      // The index may understate what the members hold: the ratio is checked again on what was written.
      if (unpacked > RATIO_FLOOR_BYTES && unpacked > limits.maxRatio * Math.max(container.size, 1)) return report('ratio', path), 'go';
      for (const member of extraction.members) {
        const memberPath = [...path, member.name];
        if (members.length >= limits.maxMembers) return report('members', path), 'stop';
        if (member.size > limits.maxMemberBytes) {
          report('bytes', memberPath);
          continue;
        }
        at = memberPath;
        const digests = await digestMember(member, limits.maxMemberBytes);
        members.push({ path: memberPath, digests });
        if ((await visit(member, memberPath, depth + 1)) === 'stop') return 'stop';
      }
      return 'go';
    } finally {
      await extraction.release();
    }
  }

  async function digestMember(member: InsideFile, maxBytes: number): Promise<FileDigests> {
    return digestStream(workspace.read(member), { maxBytes });
  }

  try {
    await visit(file, [], 0);
  } catch (error) {
    if (error instanceof InsideTimeLimitError) report('time', at);
    // A member that grew past its limit after extraction (it was measured when written) is a byte limit.
    else if (error instanceof PayloadTooLargeError) report('bytes', at);
    else throw error;
  }
  return { members, containers, reasons };
}

function sameChain(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}
