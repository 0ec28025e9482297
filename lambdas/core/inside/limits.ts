/**
 * How far a scan looks inside a file: the limits of one file's look-inside, and why a look-inside can end
 * before everything inside was read. Free of Node, so every entry point (inline, upload, CLI) shares them.
 */

/**
 * Why a look-inside was not complete; the names are the API's (`inside.reasons[].reason`). `trailing`: a
 * container is followed by another container after its own end (a second archive appended, a place to
 * hide one), which is not opened; padding after the end (zeros, or anything that is no container) is not
 * reported, its bytes being digested with the file's.
 */
export const INCOMPLETE_REASONS = ['depth', 'members', 'bytes', 'ratio', 'time', 'encrypted', 'corrupt', 'unsupported', 'trailing'] as const;
export type IncompleteReason = (typeof INCOMPLETE_REASONS)[number];

/** The limits of one file's look-inside; each has its variable ({@link INSIDE_LIMIT_VARIABLES}). */
export interface InsideLimits {
  /** Containers opened one inside the other, the file itself being the first. */
  readonly maxDepth: number;
  /** Members digested in all, at every depth. */
  readonly maxMembers: number;
  /** Bytes extracted in all, at every depth. */
  readonly maxBytes: number;
  /** Bytes of one member; a larger one is not extracted. */
  readonly maxMemberBytes: number;
  /** How many times its own size a container may unpack to, once it unpacks to more than {@link RATIO_FLOOR_BYTES}. */
  readonly maxRatio: number;
  /**
   * Milliseconds one file's look-inside may take, extraction and digests of members together; when the
   * files of one request share an {@link InsideDeadline}, what is left of it.
   */
  readonly timeMs: number;
}

/** At least as generous as ClamAV's defaults (MaxRecursion, MaxFiles, MaxScanSize, MaxFileSize, 120 s). */
export const DEFAULT_INSIDE_LIMITS: InsideLimits = {
  maxDepth: 17,
  maxMembers: 10_000,
  maxBytes: 400 * 1024 * 1024,
  maxMemberBytes: 100 * 1024 * 1024,
  maxRatio: 200,
  timeMs: 120_000,
};

/** The environment variable of each limit. */
export const INSIDE_LIMIT_VARIABLES: Readonly<Record<keyof InsideLimits, string>> = {
  maxDepth: 'HASHCHECK_INSIDE_MAX_DEPTH',
  maxMembers: 'HASHCHECK_INSIDE_MAX_MEMBERS',
  maxBytes: 'HASHCHECK_INSIDE_MAX_BYTES',
  maxMemberBytes: 'HASHCHECK_INSIDE_MAX_MEMBER_BYTES',
  maxRatio: 'HASHCHECK_INSIDE_MAX_RATIO',
  timeMs: 'HASHCHECK_INSIDE_TIME_MS',
};

/** Small containers may compress well (a text file, a sparse image): the ratio limit applies past this many unpacked bytes. */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

/**
 * One time budget for every file looked into for one request: the moment (milliseconds on `now`'s clock)
 * past which nothing more is opened, so the whole answer arrives within the time limit.
 */
export interface InsideDeadline {
  readonly at: number;
  readonly now: () => number;
}

/** A deadline `limits.timeMs` from now, shared by every file of the request it is started for. */
export function insideDeadline(limits: InsideLimits, now: () => number = Date.now): InsideDeadline {
  return { at: now() + limits.timeMs, now };
}

/** The limits of one file opened under a shared deadline: its time limit is what is left of it, never more than its own. */
export function limitsBefore(limits: InsideLimits, deadline: InsideDeadline): InsideLimits {
  return { ...limits, timeMs: Math.max(0, Math.min(limits.timeMs, deadline.at - deadline.now())) };
}
